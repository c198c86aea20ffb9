"""Data attributes and custom attribute writes over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from emulators.intercom.attributes import MAX_CUSTOM_ATTRIBUTES


def define(http: httpx.Client, name: str, model: str = "contact", data_type: str = "string") -> httpx.Response:
    return http.post("/data_attributes", json={"name": name, "model": model, "data_type": data_type})


def error_of(response: httpx.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]


def test_list_has_standard_and_custom_attributes(intercom_http) -> None:
    created = define(intercom_http, "mrr", data_type="float").json()
    assert isinstance(created["id"], int)
    assert created["full_name"] == "custom_attributes.mrr"
    listed = intercom_http.get("/data_attributes", params={"model": "contact"}).json()["data"]
    by_name = {a["name"]: a for a in listed}
    assert by_name["email"]["custom"] is False
    assert by_name["mrr"] == created
    company = intercom_http.get("/data_attributes", params={"model": "company"}).json()["data"]
    assert "mrr" not in {a["name"] for a in company}


def test_create_errors_use_intercom_messages(intercom_http) -> None:
    define(intercom_http, "account_mrr", model="company")
    assert error_of(define(intercom_http, "account_mrr", model="contact")) == {
        "code": "parameter_invalid",
        "message": "You already have 'account_mrr' in your company data. "
        "To save this as new people data, use a different name.",
    }
    assert error_of(define(intercom_http, "name"))["message"] == "'Name' is one of our standard attributes"
    assert error_of(define(intercom_http, "ok_name", data_type="text"))["message"] == "Data Type isn't an option"
    assert "alphanumeric" in error_of(define(intercom_http, "bad.name"))["message"]


def test_cap_of_250_custom_attributes_archived_do_not_count(intercom_http, intercom_emulator) -> None:
    registry = intercom_emulator.app.attributes
    for i in range(MAX_CUSTOM_ATTRIBUTES):  # in-process: 250 HTTP round trips would only slow the test
        registry.create({"name": f"attr_{i}", "model": "contact", "data_type": "string"}, now=0)
    assert "250" in error_of(define(intercom_http, "one_too_many"))["message"]
    archived = intercom_http.put("/data_attributes/1", json={"archived": True})
    assert archived.json()["archived"] is True
    assert define(intercom_http, "one_too_many").status_code == 200


def test_update_changes_description_and_archived_not_type(intercom_http) -> None:
    attribute_id = define(intercom_http, "seats", data_type="integer").json()["id"]
    updated = intercom_http.put(f"/data_attributes/{attribute_id}", json={"description": "Seats on the plan"}).json()
    assert (updated["description"], updated["data_type"]) == ("Seats on the plan", "integer")
    error = error_of(intercom_http.put(f"/data_attributes/{attribute_id}", json={"data_type": "string"}))
    assert error["code"] == "parameter_invalid"
    assert intercom_http.put("/data_attributes/999", json={"archived": True}).status_code == 404


def test_unknown_or_archived_attribute_on_write_is_400(intercom_http) -> None:
    error = error_of(intercom_http.post("/contacts", json={"external_id": "u1", "custom_attributes": {"nope": 1}}))
    assert error == {"code": "parameter_invalid", "message": "Custom attribute 'nope' does not exist"}
    attribute_id = define(intercom_http, "gone").json()["id"]
    intercom_http.put(f"/data_attributes/{attribute_id}", json={"archived": True})
    assert (
        intercom_http.post("/contacts", json={"external_id": "u1", "custom_attributes": {"gone": "x"}}).status_code
        == 400
    )
    # A contact attribute is not a company attribute.
    define(intercom_http, "seats", data_type="integer")
    company = intercom_http.post("/companies", json={"company_id": "a1", "custom_attributes": {"seats": 3}})
    assert "'seats'" in error_of(company)["message"]


@pytest.mark.parametrize(
    ("data_type", "good", "stored", "bad"),
    [
        ("integer", 3, 3, "3"),
        ("float", 2, 2.0, True),
        ("boolean", False, False, 0),
        ("date", 1_700_000_000, 1_700_000_000, "2026-01-01T00:00:00Z"),
        ("string", "x" * 255, "x" * 255, "x" * 256),
    ],
)
def test_values_are_typed(intercom_http, data_type: str, good: object, stored: object, bad: object) -> None:
    define(intercom_http, "value", data_type=data_type)
    contact = intercom_http.post("/contacts", json={"external_id": "u1", "custom_attributes": {"value": good}}).json()
    assert contact["custom_attributes"]["value"] == stored
    assert type(contact["custom_attributes"]["value"]) is type(stored)
    wrong = intercom_http.put(f"/contacts/{contact['id']}", json={"custom_attributes": {"value": bad}})
    message = error_of(wrong)["message"]
    assert "'value'" in message and data_type in message
    cleared = intercom_http.put(f"/contacts/{contact['id']}", json={"custom_attributes": {"value": None}})
    assert "value" not in cleared.json()["custom_attributes"]
