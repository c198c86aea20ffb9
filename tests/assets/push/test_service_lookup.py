"""The batched identity lookup end to end: one search for many new contacts, over real HTTP to the
emulator, and every identity rule kept (leads adopted, no duplicates, 409 recovery)."""

from __future__ import annotations

from collections import Counter

import httpx

from tests.assets.push.test_service import make_store, push
from tests.fixtures.intercom_emulator import FakeClock, intercom_headers
from tests.fixtures.synthetic import synthetic_frames


def calls(server, route: str) -> int:
    """Calls served on one route of the emulator, e.g. "POST /contacts/search"."""
    return server.app.counters[f"route:{route}"]


def test_leads_across_many_filters_are_adopted_from_one_search_per_1500_identities(
    intercom_emulator, intercom_token, intercom_http, tmp_path
):
    contacts, companies = synthetic_frames(40, users_per_account=4)
    leads = {
        f"user-{n:06d}": intercom_http.post("/contacts", json={"role": "lead", "email": f"USER{n}@example.com"}).json()
        for n in range(0, 40, 4)
    }
    intercom_emulator.app.counters.clear()
    # 2 emails per filter: 20 filters, so two searches (15 filters, then 5).
    result, _ = push(
        intercom_emulator, intercom_token, make_store(f"sqlite:///{tmp_path}/s.db"), contacts, companies,
        lookup_values_per_filter=2,
    )  # fmt: skip
    in_intercom = intercom_emulator.app.contacts_by_external_id()
    assert intercom_emulator.app.stats()["contacts"] == 40  # 30 created + 10 leads turned users
    for external_id, lead in leads.items():
        assert (in_intercom[external_id]["id"], in_intercom[external_id]["role"]) == (lead["id"], "user")
    assert (result.contacts.adopted, result.contacts.created, result.contacts.failed) == (10, 30, 0)
    assert calls(intercom_emulator, "POST /contacts/search") == 2
    assert calls(intercom_emulator, "POST /contacts") == 30
    assert intercom_emulator.app.counters["status:409"] == 0


def test_mixed_identities_in_one_batch(make_intercom_emulator, intercom_token, tmp_path):
    clock = FakeClock()
    server = make_intercom_emulator(search_lag_seconds=60, clock=clock)
    contacts, companies = synthetic_frames(8, users_per_account=4)
    store = make_store(f"sqlite:///{tmp_path}/s.db")
    with httpx.Client(base_url=server.url, headers=intercom_headers(intercom_token)) as http:
        lead = http.post("/contacts", json={"role": "lead", "email": "user0@example.com"}).json()
        email_only = http.post("/contacts", json={"role": "user", "email": "user1@example.com"}).json()
        ours = http.post("/contacts", json={"role": "user", "external_id": "user-000002", "email": "user2@example.com"})
        other = http.post("/contacts", json={"role": "user", "external_id": "someone", "email": "user3@example.com"})
        archived = http.post("/contacts", json={"role": "user", "external_id": "user-000004"}).json()
        http.post(f"/contacts/{archived['id']}/archive")
        pending_seen = http.post("/contacts", json={"role": "user", "external_id": "user-000005"}).json()
        clock.advance(120)  # everything so far is visible to search...
        pending_new = http.post("/contacts", json={"role": "user", "external_id": "user-000006"}).json()
        # ...but not this one: a crashed run created it seconds ago.
    store.mark_pending_contacts(["user-000005", "user-000006"])
    server.app.counters.clear()

    result, _ = push(server, intercom_token, store, contacts, companies)

    app = server.app
    in_intercom = app.contacts_by_external_id()
    external_ids = Counter(c.external_id for c in app.contacts.contacts.values() if c.external_id)
    assert max(external_ids.values()) == 1  # no duplicate contact
    assert app.stats()["contacts"] == 8 + 1  # our 8 users and the other user sharing user3's email
    assert in_intercom["user-000000"]["id"] == lead["id"] and in_intercom["user-000000"]["role"] == "user"
    assert in_intercom["user-000001"]["id"] == email_only["id"]
    assert in_intercom["user-000002"]["id"] == ours.json()["id"]
    assert in_intercom["someone"]["id"] == other.json()["id"] and in_intercom["someone"]["name"] is None
    assert in_intercom["user-000003"]["id"] != other.json()["id"]
    assert in_intercom["user-000004"]["id"] == archived["id"] and not app.contacts.contacts[archived["id"]].archived
    assert in_intercom["user-000005"]["id"] == pending_seen["id"]
    assert in_intercom["user-000006"]["id"] == pending_new["id"]
    for n in range(8):
        assert in_intercom[f"user-{n:06d}"]["name"] == f"User {n}"
    # One search; the exact lookup only where search lags; one 409 (the archived contact, hidden from search).
    assert calls(server, "POST /contacts/search") == 1
    assert calls(server, "GET /contacts/find_by_external_id/(?P<external_id>.+)") == 1
    assert app.counters["status:409"] == 1
    assert (result.contacts.adopted, result.contacts.created, result.contacts.failed) == (2, 2, 0)
