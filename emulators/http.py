"""A small threaded HTTP/1.1 server shared by the Stripe and Intercom emulators.

It owns what both emulators need and neither should write twice: routing, JSON responses,
keep-alive, injected latency, fault injection (error statuses, timeouts, dropped connections),
a request log that tests and benchmarks read, and start/stop from Python or the command line.
An emulator subclasses `EmulatorApp`, registers routes and keeps its own state. `EmulatorApp.answer`
is the dispatcher without the network: `emulators/inprocess.py` hands it requests directly.

Control endpoints under `/_emulator/` are not part of either real API:
  GET    /_emulator/health      liveness
  GET    /_emulator/state       the emulator's state (what `EmulatorApp.state_snapshot` returns)
  GET    /_emulator/requests    counters of requests served, by status and route
  POST   /_emulator/faults      {"rules": [FaultRule fields...]} appends fault rules
  DELETE /_emulator/faults      clears fault rules
  POST   /_emulator/latency     {"min_ms": .., "max_ms": ..}
  POST   /_emulator/reset       clears state, faults and counters
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route pattern

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)

    def query_dict(self) -> dict[str, str]:
        """Last value wins, as most servers do for repeated scalar parameters."""
        return dict(self.query)


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, raw bytes sent as they are, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[list[tuple[str, str]], bytes]:
        """The headers and body bytes as sent on the wire (JSON bodies get their content type)."""
        raw = isinstance(self.body, bytes)
        payload = self.body if raw else b"" if self.body is None else json.dumps(self.body).encode()
        headers = [] if self.body is None or raw else [("Content-Type", "application/json")]
        headers += [*self.headers.items(), ("Content-Length", str(len(payload)))]
        return headers, payload


MALFORMED_BODY = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


class DropConnection(Exception):
    """Raised by a handler or fault to close the socket without answering, after `after_s` seconds
    (a timeout fault holds the request that long first)."""

    def __init__(self, after_s: float = 0.0) -> None:
        super().__init__(f"connection dropped after {after_s} s")
        self.after_s = after_s


@dataclass
class FaultRule:
    """One injected fault. Matching rules are tried in order; the first that fires wins.

    kind: "status" (answer `status` in the emulator's own error shape), "malformed" (answer
    `status` with an HTML body, as a proxy in between might), "timeout" (hold the request
    `seconds`, then drop it) or "drop" (close the connection without a response).
    times: how many matching requests it fires for (None = unlimited).
    probability: chance of firing on a matching request (seeded, so runs repeat).
    """

    kind: str = "status"
    status: int = 500
    times: int | None = 1
    probability: float = 1.0
    method: str | None = None
    path_regex: str | None = None
    seconds: float = 30.0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not (self.path_regex and not re.search(self.path_regex, path))


Handler = Callable[[Request], Response]


class EmulatorApp:
    """Routes, faults, latency and counters. Subclasses add routes and state."""

    name = "emulator"

    def __init__(self, *, latency_ms: tuple[float, float] = (0.0, 0.0), seed: int = 0) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self.lock = threading.RLock()  # guards emulator state; handlers run under it
        self.latency_ms = latency_ms
        self.faults: list[FaultRule] = []
        self._rng = random.Random(seed)
        self.counters: Counter[str] = Counter()
        self.exchanges: list[dict[str, Any]] | None = None  # set to [] to record full exchanges
        self._in_flight = 0
        self._add_control_routes()

    # -- for subclasses -------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler, name: str | None = None) -> None:
        """Register `handler` for `method` and a path regex with named groups (anchored)."""
        self._routes.append((method.upper(), re.compile(f"^{pattern}$"), name or pattern, handler))

    def error_response(self, status: int, message: str | None = None) -> Response:
        """The emulator's own error shape for an injected status fault."""
        return Response(status, {"error": {"message": message or f"injected {status}"}})

    def state_snapshot(self) -> Any:
        return {}

    def restore_state(self, snapshot: Any) -> None:
        """Replace the state with a `state_snapshot()` (the `--state-file` loads through this)."""
        raise NotImplementedError(f"the {self.name} emulator cannot restore a snapshot")

    def reset_state(self) -> None:
        """Forget all stored objects."""

    def before_route(self, request: Request) -> Response | None:
        """Checks that apply to every API call (auth, rate limit); None lets it through."""
        return None

    def after_route(self, request: Request, response: Response) -> Response:
        """Decorate every API response (e.g. rate-limit headers)."""
        return response

    # -- control routes -------------------------------------------------------------------
    def _add_control_routes(self) -> None:
        self.route("GET", "/_emulator/health", lambda r: Response(200, {"ok": True, "name": self.name}))
        self.route("GET", "/_emulator/state", lambda r: Response(200, self.state_snapshot()))
        self.route("GET", "/_emulator/requests", lambda r: Response(200, dict(self.counters)))
        self.route("POST", "/_emulator/faults", self._add_faults)
        self.route("DELETE", "/_emulator/faults", self._clear_faults)
        self.route("POST", "/_emulator/latency", self._set_latency)
        self.route("POST", "/_emulator/reset", self._reset)

    def add_faults(self, *rules: FaultRule) -> None:
        with self.lock:
            self.faults.extend(rules)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _add_faults(self, request: Request) -> Response:
        rules = [FaultRule(**r) for r in (request.json() or {}).get("rules", [])]
        self.add_faults(*rules)
        return Response(200, {"faults": [asdict(f) for f in self.faults]})

    def _clear_faults(self, request: Request) -> Response:
        self.clear_faults()
        return Response(200, {"faults": []})

    def _set_latency(self, request: Request) -> Response:
        body = request.json() or {}
        self.latency_ms = (float(body.get("min_ms", 0)), float(body.get("max_ms", body.get("min_ms", 0))))
        return Response(200, {"latency_ms": list(self.latency_ms)})

    def _reset(self, request: Request) -> Response:
        with self.lock:
            self.reset_state()
            self.faults.clear()
            self.counters.clear()
        return Response(200, {"ok": True})

    # -- dispatch -------------------------------------------------------------------------
    def _pick_fault(self, method: str, path: str) -> FaultRule | None:
        with self.lock:
            for rule in self.faults:
                if rule.times == 0 or not rule.matches(method, path):
                    continue
                if self._rng.random() >= rule.probability:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no API request is being handled. A client killed mid-call leaves requests the
        server still finishes (after their injected latency); tests that count results wait first."""
        deadline = time.monotonic() + timeout
        while self._in_flight:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._in_flight} request(s) still in flight after {timeout} s")
            time.sleep(0.01)

    @contextlib.contextmanager
    def serving(self, request: Request) -> Iterator[None]:
        """Counts an API request as in flight (see `wait_idle`) for as long as the block runs."""
        if request.path.startswith("/_emulator/"):
            yield
            return
        with self.lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self.lock:
                self._in_flight -= 1

    def latency_s(self, request: Request) -> float:
        """The injected latency to wait before answering this request (none for control routes)."""
        low, high = self.latency_ms
        if high <= 0 or request.path.startswith("/_emulator/"):
            return 0.0
        return self._rng.uniform(low, high) / 1000.0

    def dispatch(self, request: Request) -> Response:
        """Answer one request after its latency, blocking this thread (the HTTP server's path;
        `emulators/inprocess.py` waits the same times on an event loop instead)."""
        with self.serving(request):
            time.sleep(self.latency_s(request))
            try:
                return self.answer(request)
            except DropConnection as drop:
                time.sleep(drop.after_s)
                raise

    def answer(self, request: Request) -> Response:
        """The response, without any waiting: faults, auth and rate limit, routing, counters.

        Raises `DropConnection` for a drop or timeout fault (its `after_s` is the hold)."""
        is_control = request.path.startswith("/_emulator/")
        if not is_control:
            fault = self._pick_fault(request.method, request.path)
            if fault is not None:
                if fault.kind == "drop":
                    raise DropConnection()
                if fault.kind == "timeout":
                    raise DropConnection(after_s=fault.seconds)
                if fault.kind == "malformed":
                    page = Response(fault.status, MALFORMED_BODY, {"Content-Type": "text/html"})
                    return self._count(request, "fault", page)
                return self._count(request, "fault", self.after_route(request, self.error_response(fault.status)))
        path_matched = False
        for method, pattern, name, handler in self._routes:
            match = pattern.match(request.path)
            if not match:
                continue
            path_matched = True
            if method != request.method:
                continue
            request.params = match.groupdict()
            with self.lock:
                if not is_control:
                    early = self.before_route(request)
                    if early is not None:
                        return self._count(request, name, self.after_route(request, early))
                response = handler(request)
                if not is_control:
                    response = self.after_route(request, response)
            return self._count(request, name, response)
        status = 405 if path_matched else 404
        return self._count(
            request, "unrouted", self.error_response(status, f"No route for {request.method} {request.path}")
        )

    def _count(self, request: Request, route_name: str, response: Response) -> Response:
        if request.path.startswith("/_emulator/"):
            return response
        with self.lock:
            self.counters["total"] += 1
            self.counters[f"status:{response.status}"] += 1
            self.counters[f"route:{request.method} {route_name}"] += 1
            if self.exchanges is not None:
                self.exchanges.append({"request": request, "response": response})
        return response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs offer
    # Headers and body go out in two writes; with Nagle on, each keep-alive request waits ~40 ms
    # for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is in the app's counters."""

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.app.dispatch(request)
        except DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        headers, payload = response.encode()
        self.send_response(response.status)
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: EmulatorApp) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-request (a killed run, a client timeout) is no server error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class EmulatorServer:
    """Runs an `EmulatorApp` on loopback in a background thread. Port 0 picks a free port."""

    def __init__(self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = _Server((host, port), app)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"{self.app.name}-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
