"""The HTTP layer under every Intercom call: one `httpx.AsyncClient` over keep-alive connections
(one per call in flight), the shared rate pacer, and the retry policy.

Retried: 429 (after the window resets, plus jitter), 5xx, timeouts and dropped connections (capped
exponential backoff with full jitter). Never retried: any other 4xx; the caller decides (a 409 on
create is recovered, not repeated). Every error response is logged with Intercom's `request_id`;
the access token lives only in the client's default headers, never in a message.

The bytes on the wire go through an `httpx.AsyncBaseTransport`: by default `KeepAliveTransport`
(`wire.py`: HTTP/1.1 on asyncio and httptools, in place of httpx's httpcore + h11 + anyio stack,
for CPU), or any injected one (tests hand requests to the emulator in process:
`emulators/inprocess.py`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from json import dumps as json_dumps
from typing import Any

import httpx

from resources.intercom.errors import (
    IntercomAPIError,
    IntercomInvalidResponse,
    IntercomNetworkError,
    IntercomRateLimited,
)
from resources.intercom.pacing import RateLimitHeaders, RatePacer
from resources.intercom.wire import KeepAliveTransport

log = logging.getLogger(__name__)

RETRYABLE_NETWORK_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5  # for 5xx, timeouts and dropped connections
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    max_rate_limit_waits: int = 30  # consecutive 429s on one call before giving up

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return rng.uniform(0, min(self.backoff_cap_s, self.backoff_base_s * 2**attempt))


@dataclass
class TransportStats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)  # "GET /contacts/{id}"-style, writes vs reads
    retries: int = 0
    rate_limited: int = 0
    network_errors: int = 0

    def record(self, method: str, route: str, status: int | None) -> None:
        self.requests += 1
        self.by_route[f"{method} {route}"] += 1
        if status is not None:
            self.by_status[status] += 1


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing: Intercom's REST API authenticates by bearer token alone."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _Client(httpx.AsyncClient):
    """An `httpx.AsyncClient` without cookie handling, which would cost every response a pass of its
    headers through the standard library's cookie parser."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        """Setting a jar keeps nothing either: a call never sends or stores a cookie."""


_NO_COOKIES = _NoCookies()


class IntercomTransport:
    """Sends one Intercom call at a time per coroutine; all coroutines share the pacer and one client,
    whose transport keeps one connection per call in flight (never more than `max_concurrency`)."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        api_version: str,
        max_concurrency: int,
        timeout_s: float,
        connect_timeout_s: float,
        retry: RetryPolicy,
        rate_limit_reserve: int = 0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retry = retry
        self.stats = TransportStats()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.pacer = RatePacer(
            max_in_flight=max_concurrency, reserve=rate_limit_reserve, clock=clock, sleep=sleep, rng=self._rng
        )
        self._base_url = base_url.rstrip("/")  # absolute URLs per call: httpx merges a relative one by parsing twice
        # The network by default: keep-alive HTTP/1.1 over asyncio and httptools (`wire.py`), which
        # costs far less CPU per call than httpx's default httpcore + h11 + anyio stack. A shared
        # client is safe: httpx clients take concurrent requests, and the transport hands each
        # request in flight its own connection.
        self._client = _Client(
            transport=http_transport or KeepAliveTransport(),
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
                "Intercom-Version": api_version,
            },
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        )
        self._headers = httpx.Headers(self._client.headers)
        self._json_headers = httpx.Headers(self._client.headers)
        self._json_headers["Content-Type"] = "application/json"
        self._timeout = self._client.timeout.as_dict()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        expected: frozenset[int] = frozenset(),
    ) -> Any:
        """The decoded JSON body (None when empty); raises IntercomAPIError when refused.

        `expected` statuses are answers, not errors (a lookup's 404): raised without a warning.
        """
        failures = 0
        rate_limit_waits = 0
        while True:
            await self.pacer.acquire()
            headers: RateLimitHeaders | None = None
            try:
                response = await self._send(method, path, json, params)
            except RETRYABLE_NETWORK_ERRORS as exc:
                await self.pacer.release(None)
                self.stats.record(method, route, None)
                self.stats.network_errors += 1
                log.warning("Intercom %s %s: %s (attempt %d)", method, route, type(exc).__name__, failures + 1)
                if failures >= self.retry.max_retries:
                    raise IntercomNetworkError(method=method, path=path, cause=exc) from exc
                await self._backoff(failures)
                failures += 1
                continue
            except BaseException:
                await self.pacer.release(None)  # never leak a concurrency slot, whatever went wrong
                raise
            headers = RateLimitHeaders.parse(response.headers)
            self.stats.record(method, route, response.status_code)
            if response.status_code == 429:
                error = IntercomRateLimited.from_response(method, path, response)
                wait, shared = await self.pacer.rate_limited(headers, attempt=rate_limit_waits)
                if not shared:  # the pacer holds everyone back only for a known reset
                    await self._sleep(wait)
                self.stats.rate_limited += 1
                log.warning("%s; waiting %.1f s before retrying", error, wait)
                rate_limit_waits += 1
                if rate_limit_waits > self.retry.max_rate_limit_waits:
                    raise error
                continue
            await self.pacer.release(headers)
            if response.status_code < 400:
                try:
                    return response.json() if response.content else None
                except ValueError as exc:  # one odd answer is that record's failure, not the run's
                    raise IntercomInvalidResponse(method=method, path=path, status=response.status_code) from exc
            error = IntercomAPIError.from_response(method, path, response)
            if response.status_code not in expected:
                log.warning("%s", error)
            if response.status_code < 500 or failures >= self.retry.max_retries:
                raise error
            await self._backoff(failures)
            failures += 1

    async def _send(self, method: str, path: str, json: Any, params: dict[str, Any] | None) -> httpx.Response:
        """One exchange through the client, from a request built here rather than by `build_request`:
        the headers (the client's defaults included) are merged once in `__init__` instead of per call,
        the URL is parsed once (absolute) and the body is encoded as httpx encodes `json=`."""
        url = httpx.URL(self._base_url + path, params=params) if params else httpx.URL(self._base_url + path)
        extensions = {"timeout": self._timeout}
        if json is None:
            request = httpx.Request(method, url, headers=self._headers, extensions=extensions)
        else:
            body = json_dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            request = httpx.Request(method, url, headers=self._json_headers, content=body, extensions=extensions)
        return await self._client.send(request)

    async def _backoff(self, attempt: int) -> None:
        self.stats.retries += 1
        await self._sleep(self.retry.backoff(attempt, self._rng))
