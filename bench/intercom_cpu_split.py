"""Client CPU per Intercom call, split by layer: where the push's `push_cpu_ms_per_call` goes.

    .venv/bin/python bench/intercom_cpu_split.py [--calls 2000]

One `POST /companies` after another (one in flight, so no pacing waits) to the emulator in its own
process, without latency or rate limit. Each line is this process's CPU time (`time.process_time`,
user + system) per call, in µs, through more and more of the stack:

- `*_transport`: the transport alone (`handle_async_request` of a prebuilt `httpx.Request`):
  revsync's `KeepAliveTransport` (asyncio + httptools) or httpx's default (httpcore + h11 + anyio);
- `async_client_*`: a plain `httpx.AsyncClient.request(..., json=...)` over it (URL, headers,
  `Request`, `Response`, cookie jar) plus decoding the JSON;
- `intercom_transport_*`: `IntercomTransport.request`, what every push call goes through (pacer,
  retries, stats, its own `Request` built with headers merged once, no cookie jar).

The push itself adds its planning, bookkeeping and state writes on top (bench/intercom_push.py).
The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulators.intercom import DEFAULT_TOKEN  # noqa: E402
from emulators.runner import wait_until_healthy  # noqa: E402
from resources.intercom import IntercomTransport, RetryPolicy  # noqa: E402
from resources.intercom.wire import KeepAliveTransport  # noqa: E402

HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Accept": "application/json", "Intercom-Version": "2.16"}
BODY = {"company_id": "acct-1", "name": "Acme", "plan": "pro", "monthly_spend": 155, "remote_created_at": 1700000000}


def httpcore_transport() -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))


async def cpu_us_per_call(call: Callable[[], Awaitable[object]], calls: int) -> float:
    for _ in range(50):  # connect and warm up first
        await call()
    started = time.process_time()
    for _ in range(calls):
        await call()
    return round(1e6 * (time.process_time() - started) / calls, 1)


async def measure(url: str, calls: int) -> dict[str, float]:
    out: dict[str, float] = {}
    request = httpx.Client(headers=HEADERS).build_request("POST", f"{url}/companies", json=BODY)
    request.extensions["timeout"] = httpx.Timeout(30.0).as_dict()
    for name, transport in (("wire", KeepAliveTransport()), ("httpcore", httpcore_transport())):

        async def bare(transport: httpx.AsyncBaseTransport = transport) -> None:
            response = await transport.handle_async_request(request)
            await response.aread()
            assert response.status_code == 200, response.status_code

        out[f"{name}_transport"] = await cpu_us_per_call(bare, calls)
        await transport.aclose()
    for name, transport in (("wire", KeepAliveTransport()), ("httpcore", httpcore_transport())):
        async with httpx.AsyncClient(transport=transport, headers=HEADERS, timeout=30.0) as client:

            async def plain(client: httpx.AsyncClient = client) -> None:
                (await client.request("POST", f"{url}/companies", json=BODY)).json()

            out[f"async_client_{name}"] = await cpu_us_per_call(plain, calls)
    for name, wire in (("wire", None), ("httpcore", httpcore_transport())):
        ours = IntercomTransport(
            base_url=url,
            access_token=DEFAULT_TOKEN,
            api_version="2.16",
            max_concurrency=1,
            timeout_s=30.0,
            connect_timeout_s=10.0,
            retry=RetryPolicy(),
            http_transport=wire,
        )

        async def push_call(ours: IntercomTransport = ours) -> None:
            await ours.request("POST", "/companies", route="/companies", json=BODY)

        out[f"intercom_transport_{name}"] = await cpu_us_per_call(push_call, calls)
        await ours.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    args_emulator = ["--port", str(port), "--rate-limit-per-minute", "0"]
    emulator = subprocess.Popen([sys.executable, "-m", "emulators", "intercom", *args_emulator], cwd=ROOT)
    try:
        wait_until_healthy(url)
        print(json.dumps(asyncio.run(measure(url, args.calls))))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
