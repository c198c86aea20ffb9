"""The Intercom transport against the emulator in process (headers, 429s, retries, errors), and
once over a real socket (keep-alive)."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest

from emulators.http import EmulatorServer, FaultRule
from emulators.inprocess import INPROCESS_URL, InProcessTransport
from emulators.intercom import IntercomEmulator
from resources.intercom import (
    REGION_URLS,
    IntercomAPIError,
    IntercomClient,
    IntercomNetworkError,
    IntercomRateLimited,
    IntercomResource,
    IntercomTransport,
    RetryPolicy,
)
from tests.fixtures.intercom_emulator import FakeClock, inprocess_intercom, intercom_headers


def fake_sleep(clock: FakeClock):
    """Sleeping moves the shared fake clock on, so waiting for a 10-s window costs no real time."""

    async def sleep(seconds: float) -> None:
        wake_at = clock.now + seconds  # absolute, so sleepers waiting for one reset don't add up
        await asyncio.sleep(0)
        clock.now = max(clock.now, wake_at)

    return sleep


def transport(
    target: IntercomEmulator | EmulatorServer, token: str, *, clock: FakeClock | None = None, **options
) -> IntercomTransport:
    """A transport to the emulator: in process when given its app, over HTTP when given a server."""
    settings = {"max_concurrency": 8, "timeout_s": 5.0, "connect_timeout_s": 5.0, "retry": RetryPolicy()} | options
    timing = {"clock": clock, "sleep": fake_sleep(clock)} if clock else {}
    if isinstance(target, EmulatorServer):
        wire = {"base_url": target.url}
    else:
        wire = {"base_url": INPROCESS_URL, "http_transport": InProcessTransport(target)}
    return IntercomTransport(access_token=token, api_version="2.16", **wire, **settings, **timing)


async def _get_many_open(t: IntercomTransport, n: int) -> list:
    params = {"model": "contact"}
    return await asyncio.gather(
        *(t.request("GET", "/data_attributes", route="/data_attributes", params=params) for _ in range(n))
    )


async def _get_many(t: IntercomTransport, n: int) -> list:
    try:
        return await _get_many_open(t, n)
    finally:
        await t.aclose()


def test_resource_targets_region_or_base_url():
    assert IntercomResource(access_token="t").url == "https://api.intercom.io"
    assert IntercomResource(access_token="t", region="eu").url == REGION_URLS["eu"] == "https://api.eu.intercom.io"
    assert IntercomResource(access_token="t", region="au").url == "https://api.au.intercom.io"
    assert IntercomResource(access_token="t", region="eu", base_url="http://x").url == "http://x"
    assert "secret-token" not in repr(IntercomResource(access_token="secret-token"))


def test_every_call_pins_version_and_accepts_json_on_one_kept_alive_socket(intercom_emulator, intercom_token):
    intercom_emulator.app.exchanges = []
    asyncio.run(_get_many(transport(intercom_emulator, intercom_token), 5))
    assert intercom_emulator.app.stats()["versions_seen"] == {"2.16": 5}
    headers = [x["request"].headers for x in intercom_emulator.app.exchanges]
    assert all(h["accept"] == "application/json" and h["intercom-version"] == "2.16" for h in headers)
    assert len({h.get("connection", "keep-alive") for h in headers}) == 1


def test_429_storm_stops_everyone_until_the_reset(intercom_token):
    clock = FakeClock()
    app = IntercomEmulator(rate_limit_per_minute=60, clock=clock)  # 10 calls per window
    other = httpx.Client(transport=InProcessTransport(app), base_url=INPROCESS_URL, headers=intercom_headers())
    with other as other_app:
        for _ in range(10):  # another app spends this window's budget
            other_app.get("/data_attributes", params={"model": "contact"})
    start = clock.now
    t = transport(app, intercom_token, clock=clock)
    results = asyncio.run(_get_many(t, 40))
    assert len(results) == 40
    assert t.stats.rate_limited == 1  # one 429, then everyone waited for the reset
    assert app.stats()["rate_limited"] == 1
    assert clock.now - start >= 40  # 40 calls at 10 per window need 4 more windows


def test_retries_5xx_timeouts_and_dropped_connections(intercom_app, intercom_token):
    rules = [
        FaultRule(kind="status", status=503, times=2),
        FaultRule(kind="drop", times=2),
        FaultRule(kind="timeout", seconds=1.0, times=1),
    ]
    intercom_app.add_faults(*rules)
    clock = FakeClock()
    t = transport(intercom_app, intercom_token, clock=clock, timeout_s=0.3, max_concurrency=1)
    assert len(asyncio.run(_get_many(t, 1))) == 1
    assert (t.stats.retries, t.stats.network_errors, t.stats.by_status[503], t.stats.by_status[200]) == (5, 3, 2, 1)


def test_gives_up_after_max_retries(intercom_app, intercom_token):
    intercom_app.add_faults(FaultRule(kind="status", status=500, times=None))
    clock = FakeClock()
    t = transport(intercom_app, intercom_token, clock=clock, retry=RetryPolicy(max_retries=2))
    with pytest.raises(IntercomAPIError) as info:
        asyncio.run(_get_many(t, 1))
    assert info.value.status == 500 and t.stats.requests == 3


def test_each_way_of_giving_up_has_its_own_error_class(intercom_app, intercom_token):
    clock = FakeClock()
    intercom_app.add_faults(FaultRule(kind="drop", times=None))
    t = transport(intercom_app, intercom_token, clock=clock, retry=RetryPolicy(max_retries=1))
    with pytest.raises(IntercomNetworkError) as dropped:
        asyncio.run(_get_many(t, 1))
    assert (dropped.value.status, dropped.value.code, t.stats.network_errors) == (None, "network_error", 2)

    intercom_app.clear_faults()
    intercom_app.add_faults(FaultRule(kind="status", status=429, times=None))
    t = transport(intercom_app, intercom_token, clock=clock, retry=RetryPolicy(max_rate_limit_waits=2))
    with pytest.raises(IntercomRateLimited) as limited:
        asyncio.run(_get_many(t, 1))
    assert (limited.value.status, t.stats.rate_limited) == (429, 3)
    assert isinstance(limited.value, IntercomAPIError)  # callers catch the base class


def test_other_4xx_fail_at_once_and_log_the_request_id(intercom_app, intercom_token, caplog):
    t = transport(intercom_app, intercom_token)

    async def update_unknown() -> None:
        try:
            await t.request("PUT", "/contacts/nope", route="/contacts/{id}", json={"name": "x"})
        finally:
            await t.aclose()

    with caplog.at_level(logging.WARNING), pytest.raises(IntercomAPIError) as info:
        asyncio.run(update_unknown())
    error = info.value
    assert (error.status, error.code, t.stats.requests) == (404, "not_found", 1)
    assert error.request_id and error.request_id in caplog.text
    assert intercom_token not in caplog.text and intercom_token not in str(error)


def test_a_lookup_that_finds_nothing_is_an_answer_not_a_warning(intercom_app, intercom_token, caplog):
    async def look_up() -> dict | None:
        t = transport(intercom_app, intercom_token)
        try:
            return await IntercomClient(t).find_contact_by_external_id("nobody-here")
        finally:
            await t.aclose()

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(look_up()) is None
    assert caplog.text == ""


def test_the_resource_runs_work_with_an_open_client_through_its_transport(intercom_app, intercom_token):
    resource = inprocess_intercom(intercom_app, intercom_token)
    names = resource.run_with_client(lambda client: client.list_data_attributes("contact"))
    assert "email" in {a["name"] for a in names}
    assert intercom_app.counters["total"] == 1  # it went to this app, not over the network


def test_429_without_rate_limit_headers_backs_off_exponentially_from_small(make_intercom_emulator, intercom_token):
    """A bare 429 (a proxy's, say) used to cost a whole 10-s window each time."""
    clock = FakeClock()
    server = make_intercom_emulator(clock=clock)
    server.app.add_faults(FaultRule(kind="malformed", status=429, times=3))  # a proxy's HTML 429, no headers
    start = clock.now
    t = transport(server, intercom_token, clock=clock)
    results = asyncio.run(_get_many(t, 1))
    assert len(results) == 1 and t.stats.rate_limited == 3
    waited = clock.now - start
    # 0.25 s, 0.5 s, 1 s, each times a jitter in [0.5, 1]
    assert 0.875 <= waited <= 1.75, waited


def test_calls_in_flight_share_at_most_max_concurrency_kept_alive_sockets(
    intercom_emulator, intercom_token, monkeypatch
):
    """One connection per call in flight, reused by the next call: never more sockets than slots."""
    connects = []
    real_connect = socket.socket.connect

    def counting_connect(sock: socket.socket, address) -> None:
        connects.append(address)
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", counting_connect)
    t = transport(intercom_emulator, intercom_token, max_concurrency=4)

    async def waves() -> list:
        try:
            return [await _get_many_open(t, 8) for _ in range(3)]
        finally:
            await t.aclose()

    results = asyncio.run(waves())
    assert [len(wave) for wave in results] == [8, 8, 8]
    assert 1 <= len(connects) <= 4
