"""Every emulator endpoint revsync uses, driven over HTTP and validated against the official 2.16 spec."""

from __future__ import annotations

import httpx

from tests.fixtures.openapi import validate_exchanges


def drive_every_endpoint(http: httpx.Client) -> None:
    """Valid calls to each endpoint (plus the 409 the spec does not document), asserting success."""

    def ok(response: httpx.Response, status: int = 200) -> dict:
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    ok(http.post("/data_attributes", json={"name": "seats", "model": "contact", "data_type": "integer"}))
    tier = ok(http.post("/data_attributes", json={"name": "tier", "model": "company", "data_type": "string"}))
    ok(http.post("/data_attributes", json={"name": "paying", "model": "company", "data_type": "boolean"}))
    ok(http.put(f"/data_attributes/{tier['id']}", json={"description": "Pricing tier"}))
    ok(http.get("/data_attributes", params={"model": "contact"}))
    ok(http.get("/data_attributes", params={"model": "company", "include_archived": "true"}))

    company = ok(
        http.post(
            "/companies",
            json={
                "company_id": "acct-1",
                "name": "Acme",
                "plan": "pro",
                "size": 12,
                "website": "https://acme.example",
                "industry": "Retail",
                "remote_created_at": 1_700_000_000,
                "monthly_spend": 155,
                "custom_attributes": {"tier": "gold", "paying": True},
            },
        )
    )
    ok(http.put(f"/companies/{company['id']}", json={"name": "Acme Inc", "custom_attributes": {"paying": False}}))
    ok(http.get(f"/companies/{company['id']}"))
    ok(http.get("/companies", params={"company_id": "acct-1"}))

    user = ok(
        http.post(
            "/contacts",
            json={
                "role": "user",
                "external_id": "user-1",
                "email": "ann@acme.example",
                "phone": "+15555550100",
                "name": "Ann",
                "avatar": "https://acme.example/ann.png",
                "signed_up_at": 1_700_000_000,
                "last_seen_at": 1_700_000_100,
                "owner_id": "991267459",
                "unsubscribed_from_emails": False,
                "custom_attributes": {"seats": 3},
            },
        )
    )
    assert http.post("/contacts", json={"role": "user", "external_id": "user-1"}).status_code == 409
    ok(http.put(f"/contacts/{user['id']}", json={"name": "Ann B", "custom_attributes": {"seats": 4}}))
    ok(http.get(f"/contacts/{user['id']}"))
    ok(http.get("/contacts/find_by_external_id/user-1"))
    ok(http.get("/contacts", params={"per_page": 1}))
    query = {"operator": "AND", "value": [{"field": "custom_attributes.seats", "operator": ">", "value": 1}]}
    ok(http.post("/contacts/search", json={"query": query, "pagination": {"per_page": 5}}))

    ok(http.post(f"/contacts/{user['id']}/companies", json={"id": company["id"]}))
    ok(http.get(f"/contacts/{user['id']}/companies"))
    ok(http.get(f"/companies/{company['id']}/contacts"))
    ok(http.post("/companies/list", params={"page": 1, "per_page": 15}))
    ok(http.get("/companies/scroll"))

    lead = ok(http.post("/contacts", json={"role": "lead", "email": "visitor@acme.example"}))
    ok(http.post("/contacts/merge", json={"from": lead["id"], "into": user["id"]}))
    other = ok(http.post("/contacts", json={"role": "user", "external_id": "user-2"}))
    ok(http.post(f"/contacts/{other['id']}/archive"))
    ok(http.post(f"/contacts/{other['id']}/unarchive"))
    ok(http.delete(f"/contacts/{user['id']}/companies/{company['id']}"))

    metadata = {"source": "desktop", "load": 3.67, "price": {"amount": 34999, "currency": "eur"}}
    ok(http.post("/events", json={"event_name": "created-report", "created_at": 1, "user_id": "user-1"}), 202)
    ok(http.post("/events", json={"event_name": "paid", "created_at": 2, "id": user["id"], "metadata": metadata}), 202)
    ok(http.get("/events", params={"type": "user", "user_id": "user-1"}))


def test_every_endpoint_matches_the_2_16_spec(intercom_openapi, intercom_emulator, intercom_http) -> None:
    intercom_emulator.app.exchanges = []
    drive_every_endpoint(intercom_http)
    report = validate_exchanges(intercom_emulator.app.exchanges, intercom_openapi)
    assert report.problems == []
    assert report.checked == len(intercom_emulator.app.exchanges) > 30
    assert report.undocumented == ["POST /contacts -> 409"]


def test_validator_catches_a_wrong_shape(intercom_openapi, intercom_emulator, intercom_http) -> None:
    intercom_emulator.app.exchanges = []
    intercom_http.post("/contacts", json={"role": "user", "external_id": "u1"})
    exchange = intercom_emulator.app.exchanges[0]
    exchange["response"].body["created_at"] = "yesterday"  # the spec says integer
    exchange["request"].body = b'{"role": "user", "external_id": 42}'  # the spec says string
    problems = validate_exchanges([exchange], intercom_openapi).problems
    assert len(problems) == 2
    assert problems[0].startswith("POST /contacts -> 200: request")
    assert problems[1].startswith("POST /contacts -> 200: response")
