"""An httpx transport that hands each request to an emulator's dispatcher in this process.

No socket, no server thread: `EmulatorApp.answer` builds the response on the caller's thread, so
unit tests of the Intercom client and the push run fast and deterministic. Everything the emulator
does still applies, because it happens in `answer`: routing, auth, rate-limit headers and 429s,
fault injection and the request log. The waits the HTTP server would block a thread on (injected
latency, a timeout fault's hold) are awaited on the event loop instead, and a dropped connection
or a hold longer than the client's read timeout raises the exception httpx raises over a socket.
Real HTTP stays in the end-to-end and OpenAPI tests (`EmulatorServer`).

    transport = InProcessTransport(IntercomEmulator())
    async with httpx.AsyncClient(transport=transport, base_url=INPROCESS_URL) as client: ...
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from urllib.parse import parse_qsl

import httpx

from emulators.http import DropConnection, EmulatorApp, Request, Response

INPROCESS_URL = "http://emulator.invalid"  # any base URL does; `.invalid` never resolves (RFC 6761)


class InProcessTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """Serves httpx requests (async and sync clients alike) from `app` without a network."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = self._exchange(request, await request.aread())
        try:
            while True:
                await asyncio.sleep(next(exchange))
        except StopIteration as done:
            return done.value

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = self._exchange(request, request.read())
        try:
            while True:
                time.sleep(next(exchange))
        except StopIteration as done:
            return done.value

    def _exchange(self, request: httpx.Request, body: bytes) -> Generator[float, None, httpx.Response]:
        """Yields each wait (seconds) for the driver to sleep, async or not; returns the response."""
        emulated = _emulator_request(request, body)
        with self.app.serving(emulated):
            yield self.app.latency_s(emulated)
            try:
                return _httpx_response(request, self.app.answer(emulated))
            except DropConnection as drop:
                timeout = _read_timeout(request)
                yield drop.after_s if timeout is None else min(drop.after_s, timeout)
                raise _network_error(request, drop) from None


def _emulator_request(request: httpx.Request, body: bytes) -> Request:
    # The raw (still percent-encoded) path, as the HTTP server hands it over.
    path, _, query = request.url.raw_path.decode("ascii").partition("?")
    return Request(
        method=request.method,
        path=path,
        query=parse_qsl(query, keep_blank_values=True),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )


def _httpx_response(request: httpx.Request, response: Response) -> httpx.Response:
    headers, payload = response.encode()
    return httpx.Response(response.status, headers=headers, content=payload, request=request)


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout") or {}
    read = timeouts.get("read")
    return float(read) if read is not None else None


def _network_error(request: httpx.Request, drop: DropConnection) -> httpx.TransportError:
    """What httpx raises over a socket: a read timeout when the hold outlasts it, else a disconnect."""
    timeout = _read_timeout(request)
    if drop.after_s > 0 and timeout is not None and timeout < drop.after_s:
        return httpx.ReadTimeout("timed out (in-process emulator)", request=request)
    return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
