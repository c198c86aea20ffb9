"""`KeepAliveTransport`: the HTTP/1.1 connections under the Intercom client's `httpx.AsyncClient`.

httpx stays the client (its `AsyncClient`, `Request`, `Response` and exceptions); this replaces what
`httpx.AsyncHTTPTransport` puts underneath (httpcore + h11 + anyio) through httpx's documented
extension point, an `httpx.AsyncBaseTransport`. The reason is CPU: at Intercom's rate limit the push
is bound by the client's CPU per call, and most of it went to httpcore's connection bookkeeping,
anyio's cancel scopes around every socket operation and h11's pure-Python parsing
(bench/README.md, "Client CPU per call"). Here a connection is an `asyncio.Protocol` whose response
is parsed by `httptools` (llhttp in C, the parser uvicorn uses); a request is one `write` of its
serialised bytes and one future that the protocol resolves when the response is complete.

What it keeps of httpx's transport contract:
- keep-alive: idle connections wait on a LIFO stack per origin (the most recently used is the one
  least likely to have been closed by the server) and a request takes one or opens one, so there
  are never more connections than requests in flight; one idle for longer than `keepalive_expiry`
  (5 s, httpx's default) is closed instead of reused;
- a connection the server closed (or that sent anything while idle) is dropped at once by the event
  loop callbacks and never handed out again; one whose response was not read to the end (error,
  timeout, cancellation) is closed at once (`abort`: what is left of a request given up on is
  never sent), never reused; bytes after the response asked for never reach it;
- a request's body is framed as its headers say (Content-Length, or chunked);
- the request's timeouts (`request.extensions["timeout"]`): connect (TCP and TLS handshake, with
  happy eyeballs across a host's addresses as in anyio), write
  (waiting for a full send buffer to drain) and read (the longest silence while a response is due);
- failures raise httpx's own exceptions: `ConnectTimeout`, `ConnectError`, `WriteTimeout`,
  `WriteError`, `ReadTimeout`, `ReadError`, `RemoteProtocolError`; a response is returned only
  once its whole body has arrived;
- https through one shared `ssl.SSLContext` (certificate verification and SNI on).

Not supported, because Intercom's API does not need them: HTTP/2, proxies, `Expect: 100-continue`,
upgrades, trailers, streaming a response body to the caller (a response is read whole, as
`AsyncClient.request` does anyway).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httptools
import httpx

_DEFAULT_PORTS = {b"http": 80, b"https": 443}
_Origin = tuple[bytes, str, int]
_HAPPY_EYEBALLS_DELAY_S = 0.25  # anyio's default, and RFC 8305's recommendation
_NO_RESPONSE = "Server disconnected without sending a response."  # httpcore's words, for the same event


class _StrayResponse(Exception):
    """A response after the one that was asked for, in the same read."""


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; `httptools` calls the `on_*` methods while parsing."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = self.loop = loop
        self.idle_since = 0.0  # the event loop's time when it last went back to the idle stack
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.usable = True  # False once closed, broken or half-read: never handed out again
        self._waiter: asyncio.Future[None] | None = None  # set while a response is due
        self._request: httpx.Request | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_done = False
        self._complete = False
        self._head = False
        self._keep_alive = False
        self._status = 0
        self._reason = b""
        self._read_timeout: float | None = None
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._complete:  # bytes nobody asked for: the connection can't be trusted
            self.close()
            return
        if self._read_timeout is not None:
            self._last_read = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("unexpected protocol upgrade", request=self._request))
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP response: {exc}", request=self._request))

    def eof_received(self) -> bool:
        return False  # let asyncio close the transport; connection_lost settles the response

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        if self._waiter is None or self._waiter.done():
            return
        if exc is not None:
            self._fail(httpx.ReadError(str(exc) or type(exc).__name__, request=self._request))
        elif self._headers_done and not _length_delimited(self._headers):
            self.on_message_complete()  # a body delimited by the end of the connection: it has ended
        elif self._headers_done:
            self._fail(
                httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body", request=self._request
                )
            )
        else:
            self._fail(httpx.RemoteProtocolError(_NO_RESPONSE, request=self._request))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- httptools callbacks ---------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._complete:  # a second response in the same read: nobody asked for it
            self.close()
            # Stop the parser here: its status, headers and body would land on the response
            # being returned (`feed_data` raises, `data_received` fails an already settled waiter).
            raise _StrayResponse

    def on_status(self, reason: bytes) -> None:
        self._reason += reason  # may come in pieces, split across reads

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        if self._head:  # no body follows, whatever Content-Length says; the parser can't know
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._status = status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (103 Early Hints, a stray 100): the real one follows
            self._headers, self._body, self._reason, self._headers_done = [], [], b"", False
            return
        self._complete = True
        # Asked now: once `feed_data` returns, llhttp has reset and answers False.
        self._keep_alive = self._transport is not None and self._parser.should_keep_alive()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- one exchange ----------------------------------------------------------------------
    async def exchange(
        self, request: httpx.Request, data: bytes, read_timeout: float | None, write_timeout: float | None
    ) -> httpx.Response:
        """Send `data` (the whole request) and return the whole response; raises httpx's exceptions."""
        transport = self._transport
        if transport is None or transport.is_closing():
            self.usable = False
            raise httpx.RemoteProtocolError(_NO_RESPONSE, request=request)
        self.usable = False  # until the response has been read to its end
        self._request = request
        self._head = request.method == "HEAD"
        self._waiter = waiter = self._loop.create_future()
        self._headers, self._body, self._reason = [], [], b""
        self._headers_done = self._complete = self._keep_alive = False
        try:
            try:
                transport.write(data)
            except (OSError, RuntimeError) as exc:
                raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc
            if self._write_paused:  # a body larger than the send buffer: wait for it to drain
                await self._drain(request, write_timeout)
            self._read_timeout = read_timeout
            if read_timeout is not None:
                self._last_read = self._loop.time()
                self._timer = self._loop.call_later(read_timeout, self._check_read_timeout)
            await waiter
        finally:
            if not waiter.done():  # left early (write failure, cancellation): nobody will read it
                waiter.cancel()
            self._waiter = self._request = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        # Reusable only if the server keeps it alive and has all of our request (it may answer early).
        self.usable = (
            self._keep_alive and not self._head and not transport.is_closing() and not transport.get_write_buffer_size()
        )
        return httpx.Response(
            self._status,
            headers=self._headers,
            content=b"".join(self._body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": self._reason},
        )

    async def _drain(self, request: httpx.Request, timeout: float | None) -> None:
        """Wait until the send buffer drains, or the response (or the connection's error) comes first:
        a server may answer, or close, before reading a whole request."""
        assert self._waiter is not None
        self._drained = drained = self._loop.create_future()
        try:
            done, _ = await asyncio.wait((drained, self._waiter), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._drained = None
        if not done:
            self.close()
            raise httpx.WriteTimeout("timed out sending the request", request=request)

    def _check_read_timeout(self) -> None:
        """The read timeout is the longest silence allowed, as in httpx: re-armed while data flows."""
        self._timer = None
        if self._waiter is None or self._waiter.done() or self._read_timeout is None:
            return
        quiet_for = self._loop.time() - self._last_read
        if quiet_for < self._read_timeout:
            self._timer = self._loop.call_later(self._read_timeout - quiet_for, self._check_read_timeout)
            return
        self._fail(httpx.ReadTimeout("timed out waiting for the response", request=self._request))

    def _fail(self, error: httpx.TransportError) -> None:
        self.close()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    def closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def close(self) -> None:
        """Close the socket now. Not `transport.close()`, which would go on sending what is still
        buffered: a request given up on (write timeout, cancellation) would reach the server whole
        and be acted on while the client retries it."""
        self.usable = False
        if self._transport is not None and not self._loop.is_closed():  # else the socket is gone already
            self._transport.abort()


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio with `httptools`: keep-alive connections, at most one request each at a
    time, so one connection per request in flight (see the module docstring for the contract)."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, keepalive_expiry: float = 5.0) -> None:
        self._ssl_context = ssl_context
        # httpx's default: a connection idle longer is not reused. A NAT or firewall may have dropped
        # it without a word, and the call on it would then wait out the whole read timeout.
        self._keepalive_expiry = keepalive_expiry
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.raw_scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        origin = (scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS[scheme])  # IDNA-encoded
        timeouts: dict[str, Any] = request.extensions.get("timeout") or {}
        data = _serialise(request, await request.aread())
        connection = self._take_idle(origin) or await self._connect(origin, request, timeouts.get("connect"))
        try:
            response = await connection.exchange(request, data, timeouts.get("read"), timeouts.get("write"))
        except BaseException:  # the response was not read to its end: the connection can't be reused
            self._discard(connection)
            raise
        if connection.usable and not self._closed:
            connection.idle_since = connection.loop.time()
            self._idle.setdefault(origin, []).append(connection)
        else:
            self._discard(connection)
        return response

    def _take_idle(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        loop = asyncio.get_running_loop()
        while idle:
            connection = idle.pop()
            # The event loop has already told the connection of any close or stray byte; one made
            # on another (earlier) event loop can't be used on this one. A transport closing (the
            # server's FIN or a reset read) gets `connection_lost` only on the next loop iteration.
            fresh = loop.time() - connection.idle_since <= self._keepalive_expiry
            if connection.usable and connection.loop is loop and not connection.closing() and fresh:
                return connection
            self._discard(connection)
        return None

    async def _connect(self, origin: _Origin, request: httpx.Request, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = scheme == b"https"
        if tls and self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    host,
                    port,
                    ssl=self._ssl_context if tls else None,
                    server_hostname=host if tls else None,
                    # Happy eyeballs (RFC 8305), as anyio's connect_tcp under httpcore: an address
                    # that drops the attempt (a broken IPv6 route) must not use up the connect timeout.
                    happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY_S,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}", request=request) from exc
        except (OSError, ssl.SSLError) as exc:  # refused, unreachable, DNS, certificate
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        self._open.add(connection)
        return connection

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def aclose(self) -> None:
        self._closed = True
        connections, self._open, self._idle = self._open, set(), {}
        for connection in connections:
            connection.close()


def _length_delimited(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers)


def _serialise(request: httpx.Request, body: bytes) -> bytes:
    """The request line, headers and body as one buffer (one `write`, one segment for a small call).

    httpx has already set Host, Content-Length (or Transfer-Encoding: chunked, for a body streamed
    without a known length) and the client's default headers; CR or LF in a header would split it
    into two (header injection), so a header block with more line breaks than headers is refused, as
    h11 refuses such a header. The body is framed as the headers say: one chunk and the last one
    when chunked, else exactly Content-Length bytes (a mismatch is refused, as h11 does; bytes past
    the declared end would be read by the server as the next request).
    """
    headers = request.headers
    raw_headers = headers.raw
    head = b"".join(b"%s: %s\r\n" % pair for pair in raw_headers)
    if head.count(b"\n") != len(raw_headers) or head.count(b"\r") != len(raw_headers):
        raise httpx.LocalProtocolError("illegal character in a request header", request=request)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    elif headers.get("content-length", "0" if not body else None) != str(len(body)):
        raise httpx.LocalProtocolError("request body does not match its Content-Length", request=request)
    return b"%s %s HTTP/1.1\r\n%s\r\n%s" % (request.method.encode("ascii"), request.url.raw_path, head, body)
