"""Data events over real HTTP: 202, de-duplication, unknown users, metadata and name limits."""

from __future__ import annotations

import pytest

from emulators.intercom.events import MAX_EVENT_NAMES


@pytest.fixture
def user(intercom_http) -> dict:
    return intercom_http.post("/contacts", json={"role": "user", "external_id": "u1", "email": "u1@x.io"}).json()


def test_event_is_202_empty_and_deduplicated(intercom_http, intercom_emulator, user) -> None:
    event = {"event_name": "Created-Report", "created_at": 1_700_000_000, "user_id": "u1"}
    first = intercom_http.post("/events", json=event)
    assert (first.status_code, first.content) == (202, b"")
    assert intercom_http.post("/events", json={**event, "event_name": "created-report"}).status_code == 202
    assert intercom_http.post("/events", json={**event, "id": user["id"], "user_id": None}).status_code == 202
    assert intercom_http.post("/events", json={**event, "created_at": 1_700_000_001}).status_code == 202
    assert [e["created_at"] for e in intercom_emulator.app.events_for("u1")] == [1_700_000_000, 1_700_000_001]
    listed = intercom_http.get("/events", params={"type": "user", "user_id": "u1"}).json()
    assert [e["event_name"] for e in listed["events"]] == ["created-report", "created-report"]


def test_unknown_user_is_404(intercom_http) -> None:
    response = intercom_http.post("/events", json={"event_name": "x", "created_at": 1, "user_id": "ghost"})
    assert response.status_code == 404
    assert response.json()["errors"][0] == {"code": "not_found", "message": "User Not Found"}


def test_event_needs_name_and_created_at(intercom_http, user) -> None:
    assert intercom_http.post("/events", json={"event_name": "x", "user_id": "u1"}).status_code == 400
    assert intercom_http.post("/events", json={"created_at": 1, "user_id": "u1"}).status_code == 400


def test_only_first_ten_metadata_keys_are_kept(intercom_http, intercom_emulator, user) -> None:
    metadata = {f"k{i:02}": i for i in range(12)}
    metadata["k00"] = {"amount": 34999, "currency": "eur"}
    metadata["k01"] = {"url": "https://example.org", "value": "docs"}
    intercom_http.post("/events", json={"event_name": "x", "created_at": 1, "email": "u1@x.io", "metadata": metadata})
    kept = intercom_emulator.app.events_for("u1")[0]["metadata"]
    assert list(kept) == [f"k{i:02}" for i in range(10)]
    assert kept["k00"] == {"amount": 34999, "currency": "eur"}
    nested = intercom_http.post(
        "/events", json={"event_name": "x", "created_at": 2, "user_id": "u1", "metadata": {"a": [1]}}
    )
    assert nested.status_code == 400


def test_at_most_120_event_names(intercom_http, user) -> None:
    for i in range(MAX_EVENT_NAMES):
        assert (
            intercom_http.post("/events", json={"event_name": f"e{i}", "created_at": 1, "user_id": "u1"}).status_code
            == 202
        )
    assert intercom_http.post("/events", json={"event_name": "e0", "created_at": 2, "user_id": "u1"}).status_code == 202
    refused = intercom_http.post("/events", json={"event_name": "e-new", "created_at": 1, "user_id": "u1"})
    assert refused.status_code == 400
    assert "120" in refused.json()["errors"][0]["message"]
