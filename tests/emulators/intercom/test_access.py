"""Auth, Accept, versions, the 10-second rate limit and fault injection, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from emulators.http import FaultRule
from tests.fixtures.intercom_emulator import FakeClock, intercom_headers


def test_wrong_token_is_401_error_list_with_request_id(intercom_emulator) -> None:
    response = httpx.get(f"{intercom_emulator.url}/contacts", headers=intercom_headers(token="nope"))
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "error.list"
    assert body["errors"] == [{"code": "unauthorized", "message": "Access Token Invalid"}]
    assert response.headers["X-Request-Id"] == body["request_id"]
    assert "X-RateLimit-Limit" not in response.headers  # not sent without valid credentials


def test_missing_or_other_accept_is_406(intercom_emulator, intercom_token) -> None:
    headers = intercom_headers(intercom_token)
    del headers["Accept"]
    assert httpx.get(f"{intercom_emulator.url}/contacts", headers=headers).status_code == 406
    headers["Accept"] = "text/html"
    assert httpx.get(f"{intercom_emulator.url}/contacts", headers=headers).status_code == 406


def test_versions_are_checked_and_recorded(intercom_emulator, intercom_token) -> None:
    url = f"{intercom_emulator.url}/data_attributes"
    assert httpx.get(url, headers=intercom_headers(intercom_token, version="2.99")).status_code == 400
    assert httpx.get(url, headers=intercom_headers(intercom_token, version="Preview")).status_code == 200
    unpinned = intercom_headers(intercom_token)
    del unpinned["Intercom-Version"]
    assert httpx.get(url, headers=unpinned).status_code == 200
    assert intercom_emulator.app.versions_seen == {"2.99": 1, "Preview": 1, "unset": 1}


def test_rate_limit_window_headers_429_and_reset(make_intercom_emulator, intercom_token) -> None:
    clock = FakeClock(1_800_000_003.0)
    server = make_intercom_emulator(rate_limit_per_minute=30, clock=clock)  # 5 per 10-second window
    with httpx.Client(base_url=server.url, headers=intercom_headers(intercom_token)) as http:
        remaining = [int(http.get("/data_attributes").headers["X-RateLimit-Remaining"]) for _ in range(5)]
        assert remaining == [4, 3, 2, 1, 0]
        limited = http.post("/contacts", json={"external_id": "u1"})  # every endpoint shares the budget
        assert limited.status_code == 429
        assert limited.json()["errors"][0] == {
            "code": "rate_limit_exceeded",
            "message": "Exceeded rate limit of 5 in 10_seconds",
        }
        assert limited.headers["X-RateLimit-Limit"] == "5"
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert limited.headers["X-RateLimit-Reset"] == "1800000010"  # the window's end, on a multiple of 10 s
        assert server.app.rate_limited_count == 1
        clock.advance(7)  # the next aligned window starts at ...010
        fresh = http.get("/data_attributes")
        assert fresh.status_code == 200
        assert fresh.headers["X-RateLimit-Remaining"] == "4"
        assert fresh.headers["X-RateLimit-Reset"] == "1800000020"


def test_default_allowance_is_a_sixth_of_the_minute_budget(intercom_http) -> None:
    assert intercom_http.get("/data_attributes").headers["X-RateLimit-Limit"] == "1667"


def test_rate_limit_can_be_disabled(make_intercom_emulator, intercom_token) -> None:
    server = make_intercom_emulator(rate_limit_per_minute=None)
    response = httpx.get(f"{server.url}/contacts", headers=intercom_headers(intercom_token))
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers


def test_injected_500_is_an_intercom_error(intercom_emulator, intercom_http) -> None:
    intercom_emulator.app.add_faults(FaultRule(status=500, path_regex="^/contacts$"))
    response = intercom_http.post("/contacts", json={"external_id": "u1"})
    assert response.status_code == 500
    assert response.json()["type"] == "error.list"
    assert response.json()["errors"][0]["code"] == "server_error"
    assert intercom_http.post("/contacts", json={"external_id": "u1"}).status_code == 200  # fired once


def test_dropped_connection(intercom_emulator, intercom_http) -> None:
    intercom_emulator.app.add_faults(FaultRule(kind="drop", method="GET"))
    with pytest.raises(httpx.TransportError):
        intercom_http.get("/contacts")
    assert intercom_http.get("/contacts").status_code == 200


def test_wrong_method_is_404_like_intercom(intercom_http) -> None:
    response = intercom_http.delete("/data_attributes")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
