"""Contacts over real HTTP: the 409 rules, archive, merge, find, list paging and search with lag."""

from __future__ import annotations

import re

import httpx

from tests.fixtures.intercom_emulator import FakeClock, intercom_headers

ID = re.compile(r"^[0-9a-f]{24}$")


def create(http: httpx.Client, **body: object) -> httpx.Response:
    return http.post("/contacts", json=body)


def conflict_id(response: httpx.Response, archived: bool = False) -> str:
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert error["code"] == "conflict"
    prefix = "An archived contact" if archived else "A contact"
    match = re.fullmatch(prefix + r" matching those details already exists with id=([0-9a-f]{24})", error["message"])
    assert match, error["message"]
    return match.group(1)


def test_create_returns_2_16_contact_with_hex_id(intercom_http) -> None:
    contact = create(intercom_http, role="user", external_id="u1", email="Ann@Example.com", name="Ann").json()
    assert ID.match(contact["id"])
    assert contact["type"] == "contact"
    assert (contact["role"], contact["external_id"], contact["email_domain"]) == ("user", "u1", "Example.com")


def test_ids_are_deterministic_for_a_seed(intercom_http, intercom_emulator) -> None:
    first = create(intercom_http, external_id="u1").json()["id"]
    intercom_emulator.app.reset_state()
    assert create(intercom_http, external_id="u1").json()["id"] == first


def test_duplicate_external_id_is_409_with_the_existing_id(intercom_http) -> None:
    existing = create(intercom_http, role="user", external_id="u1", email="a@x.io").json()["id"]
    assert conflict_id(create(intercom_http, role="user", external_id="u1", email="other@x.io")) == existing


def test_archived_duplicate_says_archived(intercom_http) -> None:
    existing = create(intercom_http, external_id="u1").json()["id"]
    archived = intercom_http.post(f"/contacts/{existing}/archive").json()
    assert archived == {"type": "contact", "id": existing, "external_id": "u1", "archived": True}
    assert conflict_id(create(intercom_http, external_id="u1"), archived=True) == existing
    assert intercom_http.get("/contacts/find_by_external_id/u1").status_code == 404
    intercom_http.post(f"/contacts/{existing}/unarchive")
    assert intercom_http.get("/contacts/find_by_external_id/u1").json()["id"] == existing


def test_email_rules(intercom_http) -> None:
    create(intercom_http, role="user", external_id="u1", email="shared@x.io")
    # Two users with different external_ids may share an email.
    assert create(intercom_http, role="user", external_id="u2", email="shared@x.io").status_code == 200
    # A lead with the same email does not block creating a user.
    create(intercom_http, role="lead", email="lead@x.io")
    assert create(intercom_http, role="user", external_id="u3", email="lead@x.io").status_code == 200
    # A user without external_id owns its email.
    anonymous = create(intercom_http, role="user", email="solo@x.io").json()["id"]
    assert conflict_id(create(intercom_http, role="user", external_id="u4", email="SOLO@x.io")) == anonymous


def test_update_is_partial_and_guards_identity(intercom_http) -> None:
    first = create(intercom_http, external_id="u1", name="Ann", phone="+1").json()["id"]
    second = create(intercom_http, external_id="u2").json()["id"]
    updated = intercom_http.put(f"/contacts/{second}", json={"name": "Bob"}).json()
    assert (updated["name"], updated["external_id"]) == ("Bob", "u2")
    assert conflict_id(intercom_http.put(f"/contacts/{second}", json={"external_id": "u1"})) == first
    to_lead = intercom_http.put(f"/contacts/{first}", json={"role": "lead"})
    assert to_lead.status_code == 400
    assert intercom_http.put("/contacts/" + "0" * 24, json={"name": "x"}).status_code == 404


def test_create_needs_an_identifier_and_valid_types(intercom_http) -> None:
    assert create(intercom_http, name="nobody").status_code == 400
    assert create(intercom_http, external_id="u1", signed_up_at="2026-01-01").status_code == 400
    assert create(intercom_http, role="admin").status_code == 400


def test_find_by_external_id_covers_users_only(intercom_http) -> None:
    create(intercom_http, role="lead", external_id="lead-1")
    missing = intercom_http.get("/contacts/find_by_external_id/lead-1")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "not_found"


def test_list_pages_with_cursor_and_hides_archived(intercom_http) -> None:
    ids = [create(intercom_http, external_id=f"u{i}").json()["id"] for i in range(5)]
    intercom_http.post(f"/contacts/{ids[1]}/archive")
    first = intercom_http.get("/contacts", params={"per_page": 2}).json()
    assert [c["id"] for c in first["data"]] == [ids[0], ids[2]]
    assert first["total_count"] == 4
    cursor = first["pages"]["next"]["starting_after"]
    second = intercom_http.get("/contacts", params={"per_page": 2, "starting_after": cursor}).json()
    assert [c["id"] for c in second["data"]] == [ids[3], ids[4]]
    assert "next" not in second["pages"]


def test_merge_lead_into_user_then_410_with_link(intercom_http, intercom_emulator) -> None:
    lead = create(intercom_http, role="lead", email="lead@x.io", phone="+33").json()["id"]
    user = create(intercom_http, role="user", external_id="u1").json()["id"]
    intercom_http.post("/events", json={"event_name": "visited", "created_at": 10, "id": lead})
    merged = intercom_http.post("/contacts/merge", json={"from": lead, "into": user}).json()
    assert (merged["id"], merged["phone"]) == (user, "+33")
    gone = intercom_http.get(f"/contacts/{lead}")
    assert gone.status_code == 410
    assert gone.json()["errors"][0]["code"] == "contact_merged"
    assert user in gone.headers["Link"]
    assert [e["event_name"] for e in intercom_emulator.app.events_for("u1")] == ["visited"]
    assert [c["id"] for c in intercom_http.get("/contacts").json()["data"]] == [user]
    assert intercom_http.post("/contacts/merge", json={"from": user, "into": user}).status_code == 400


def test_search_operators_groups_and_cursor_in_body(intercom_http) -> None:
    intercom_http.post("/data_attributes", json={"name": "seats", "model": "contact", "data_type": "integer"})
    for i, email in enumerate(["ann@acme.io", "bob@acme.io", "cy@other.io"]):
        create(intercom_http, external_id=f"u{i}", email=email, custom_attributes={"seats": i * 10})

    def search(query: dict, **extra: object) -> dict:
        response = intercom_http.post("/contacts/search", json={"query": query, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    def ids_of(result: dict) -> list[str]:
        return [c["external_id"] for c in result["data"]]

    assert ids_of(search({"field": "email", "operator": "$", "value": "@acme.io"})) == ["u0", "u1"]
    assert ids_of(search({"field": "custom_attributes.seats", "operator": ">", "value": 5})) == ["u1", "u2"]
    group = {
        "operator": "AND",
        "value": [
            {"field": "external_id", "operator": "NIN", "value": ["u0"]},
            {"operator": "OR", "value": [{"field": "email", "operator": "^", "value": "cy"}]},
        ],
    }
    assert ids_of(search(group)) == ["u2"]
    page = search({"field": "role", "operator": "=", "value": "user"}, pagination={"per_page": 2})
    cursor = page["pages"]["next"]["starting_after"]
    rest = search(
        {"field": "role", "operator": "=", "value": "user"}, pagination={"per_page": 2, "starting_after": cursor}
    )
    assert ids_of(page) + ids_of(rest) == ["u0", "u1", "u2"]
    sort = {"field": "custom_attributes.seats", "order": "sideways"}
    bad = intercom_http.post(
        "/contacts/search", json={"query": {"field": "role", "operator": "=", "value": "user"}, "sort": sort}
    )
    assert bad.json()["errors"][0]["code"] == "invalid_sort_order"


def test_search_lags_behind_writes(make_intercom_emulator, intercom_token) -> None:
    clock = FakeClock()
    server = make_intercom_emulator(search_lag_seconds=60, clock=clock)
    query = {"query": {"field": "external_id", "operator": "=", "value": "u1"}}
    with httpx.Client(base_url=server.url, headers=intercom_headers(intercom_token)) as http:
        contact = create(http, external_id="u1", name="Old").json()
        assert http.post("/contacts/search", json=query).json()["total_count"] == 0  # not indexed yet
        assert http.get(f"/contacts/{contact['id']}").status_code == 200  # but retrievable at once
        clock.advance(60)
        assert http.post("/contacts/search", json=query).json()["data"][0]["name"] == "Old"
        http.put(f"/contacts/{contact['id']}", json={"name": "New"})
        clock.advance(30)
        assert http.post("/contacts/search", json=query).json()["data"][0]["name"] == "Old"  # stale values
        clock.advance(30)
        assert http.post("/contacts/search", json=query).json()["data"][0]["name"] == "New"
