"""The in-process transport answers as the emulator's HTTP server does, without a socket."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from emulators.http import FaultRule
from emulators.inprocess import INPROCESS_URL, InProcessTransport
from emulators.intercom import IntercomEmulator
from tests.fixtures.intercom_emulator import intercom_headers


def client(app: IntercomEmulator, timeout: float = 5.0) -> httpx.AsyncClient:
    transport = InProcessTransport(app)
    return httpx.AsyncClient(transport=transport, base_url=INPROCESS_URL, headers=intercom_headers(), timeout=timeout)


def test_answers_with_status_headers_body_and_the_raw_path(intercom_app_http, intercom_app):
    created = intercom_app_http.post("/contacts", json={"role": "user", "external_id": "a/b c"})
    assert created.status_code == 200 and created.headers["content-type"] == "application/json"
    assert int(created.headers["x-ratelimit-remaining"]) < int(created.headers["x-ratelimit-limit"])
    found = intercom_app_http.get("/contacts/find_by_external_id/a%2Fb%20c")  # percent-encoded, as on the wire
    assert found.json()["id"] == created.json()["id"]
    assert intercom_app.counters["route:POST /contacts"] == 1  # the emulator's own request log


def test_unauthorised_and_unrouted_requests_get_the_emulator_answers(intercom_app):
    with httpx.Client(transport=InProcessTransport(intercom_app), base_url=INPROCESS_URL) as anonymous:
        assert anonymous.get("/contacts").status_code == 401
    headers = intercom_headers()
    with httpx.Client(transport=InProcessTransport(intercom_app), base_url=INPROCESS_URL, headers=headers) as http:
        assert http.get("/no/such/route").status_code == 404


def test_drops_and_timeouts_raise_what_httpx_raises_over_a_socket(intercom_app):
    async def get(timeout: float) -> httpx.Response:
        async with client(intercom_app, timeout) as http:
            return await http.get("/data_attributes", params={"model": "contact"})

    intercom_app.add_faults(FaultRule(kind="drop", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(get(5.0))
    intercom_app.add_faults(FaultRule(kind="timeout", seconds=5.0, times=1))
    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(get(0.05))  # the client gives up before the hold ends
    intercom_app.add_faults(FaultRule(kind="timeout", seconds=0.05, times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(get(5.0))  # the hold ends first, then the connection drops
    assert asyncio.run(get(5.0)).status_code == 200  # every fault has fired once


def test_injected_latency_is_awaited_so_requests_overlap(intercom_app):
    intercom_app.latency_ms = (300.0, 300.0)

    async def two_requests_and_a_probe() -> str:
        async with client(intercom_app) as http:
            calls = [http.get("/data_attributes", params={"model": "contact"}) for _ in range(2)]

            async def probe() -> str:
                await asyncio.sleep(0.1)
                with pytest.raises(TimeoutError) as busy:
                    intercom_app.wait_idle(timeout=0)
                return str(busy.value)

            *_, seen = await asyncio.gather(*calls, probe())
            return seen

    assert asyncio.run(two_requests_and_a_probe()).startswith("2 request(s) still in flight")
    intercom_app.wait_idle(timeout=0)  # and nothing is left in flight after
