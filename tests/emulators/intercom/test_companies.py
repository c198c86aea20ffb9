"""Companies over real HTTP: upsert, hidden until a contact is attached, monthly_spend, attach rules."""

from __future__ import annotations

from emulators.intercom.companies import MAX_COMPANIES_PER_CONTACT


def test_upsert_by_company_id_and_plan_object(intercom_http) -> None:
    created = intercom_http.post("/companies", json={"company_id": "a1", "name": "Acme", "plan": "pro"}).json()
    again = intercom_http.post("/companies", json={"company_id": "a1", "size": 12}).json()
    assert again["id"] == created["id"]
    assert (again["name"], again["size"]) == ("Acme", 12)
    assert again["plan"]["type"] == "plan" and again["plan"]["name"] == "pro" and again["plan"]["id"]
    put = intercom_http.put(f"/companies/{created['id']}", json={"industry": "Retail"}).json()
    assert put["industry"] == "Retail"
    assert intercom_http.get(f"/companies/{created['id']}").json()["industry"] == "Retail"
    found = intercom_http.get("/companies", params={"company_id": "a1"}).json()
    assert [c["id"] for c in found["data"]] == [created["id"]]
    missing = intercom_http.get("/companies", params={"company_id": "zzz"})
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "company_not_found"


def test_monthly_spend_is_truncated_and_capped(intercom_http) -> None:
    assert (
        intercom_http.post("/companies", json={"company_id": "a1", "monthly_spend": 155.98}).json()["monthly_spend"]
        == 155
    )
    assert intercom_http.post("/companies", json={"company_id": "a1", "monthly_spend": 2**31 - 1}).status_code == 200
    assert intercom_http.post("/companies", json={"company_id": "a1", "monthly_spend": 2**31}).status_code == 400


def test_company_hidden_from_lists_until_a_contact_is_attached(intercom_http) -> None:
    company = intercom_http.post("/companies", json={"company_id": "a1", "name": "Acme"}).json()
    assert intercom_http.post("/companies/list").json()["data"] == []
    assert intercom_http.get("/companies/scroll").json()["data"] == []
    contact = intercom_http.post("/contacts", json={"external_id": "u1"}).json()
    attached = intercom_http.post(f"/contacts/{contact['id']}/companies", json={"id": company["id"]})
    assert attached.json()["user_count"] == 1
    assert intercom_http.post(f"/contacts/{contact['id']}/companies", json={"id": company["id"]}).status_code == 200
    listed = intercom_http.post("/companies/list").json()
    assert [(c["id"], c["user_count"]) for c in listed["data"]] == [(company["id"], 1)]
    scroll = intercom_http.get("/companies/scroll").json()
    assert [c["id"] for c in scroll["data"]] == [company["id"]]
    assert intercom_http.get("/companies/scroll", params={"scroll_param": scroll["scroll_param"]}).json()["data"] == []
    members = intercom_http.get(f"/companies/{company['id']}/contacts").json()
    assert [c["id"] for c in members["data"]] == [contact["id"]]
    of_contact = intercom_http.get(f"/contacts/{contact['id']}/companies").json()
    assert [c["company_id"] for c in of_contact["companies"]] == ["a1"]
    detached = intercom_http.delete(f"/contacts/{contact['id']}/companies/{company['id']}").json()
    assert detached["user_count"] == 0
    assert intercom_http.post("/companies/list").json()["data"] == []


def test_attach_errors(intercom_http, intercom_emulator) -> None:
    contact = intercom_http.post("/contacts", json={"external_id": "u1"}).json()["id"]
    missing = intercom_http.post(f"/contacts/{contact}/companies", json={"id": "f" * 24})
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "company_not_found"
    app = intercom_emulator.app
    for i in range(MAX_COMPANIES_PER_CONTACT):  # in-process setup: 1,000 round trips would only slow the test
        app.companies.attach(contact, app.companies.upsert(f"c{i}", {}, {}, now=0))
    extra = intercom_http.post("/companies", json={"company_id": "one-more"}).json()["id"]
    limited = intercom_http.post(f"/contacts/{contact}/companies", json={"id": extra})
    assert limited.status_code == 400
    assert limited.json()["errors"][0]["code"] == "contact_company_limit_exceeded"
