"""A demo world served by the Stripe emulator in a child process (for the benches).

The child builds the world, optionally writes it into a warehouse, loads its Stripe objects into
the emulator and serves them; it sends back a summary (`summarise(objects)`, picked by the bench)
and then only serves. The bench process thus measures the client alone: the emulator's rendering
of pages has its own process and interpreter lock, as Stripe's servers are elsewhere. The bench
drives the emulator over its control routes (`/_emulator/config`, `/_emulator/clock`).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from emulators.runner import wait_until_healthy

Summarise = Callable[[dict[str, list[dict[str, Any]]]], dict[str, Any]]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_cpu_s(pid: int) -> float:
    """CPU time a process has used (user + system), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class StripeWorld:
    url: str
    summary: dict[str, Any]
    pid: int

    def configure(self, **settings: Any) -> None:
        """Emulator settings, e.g. `rate_limit=None` (off) or 25 (per endpoint per second)."""
        httpx.post(f"{self.url}/_emulator/config", json=settings, timeout=30).raise_for_status()

    def advance(self, seconds: int) -> int:
        """Move the emulator's clock on; its new time."""
        reply = httpx.post(f"{self.url}/_emulator/clock", json={"advance_seconds": seconds}, timeout=30)
        reply.raise_for_status()
        return int(reply.json()["now"])

    def counters(self) -> Counter[str]:
        return Counter(httpx.get(f"{self.url}/_emulator/requests", timeout=30).json())

    def cpu_s(self) -> float:
        return process_cpu_s(self.pid)


def _serve(
    users: int,
    seed: int,
    as_of: datetime,
    port: int,
    emulator: dict[str, Any],
    warehouse_url: str | None,
    summarise: Summarise,
    ready: Any,
) -> None:
    """Child: build the world, write the warehouse, load and serve Stripe; send the summary."""
    import time

    from emulators.demo_world.stripe_world import stripe_objects
    from emulators.demo_world.warehouse_writer import write_warehouse
    from emulators.demo_world.world import build_world
    from emulators.http import EmulatorServer
    from emulators.stripe import StripeEmulator

    started = time.monotonic()
    world = build_world(users, seed, as_of=as_of)
    if warehouse_url is not None:
        write_warehouse(world, warehouse_url)
    objects = stripe_objects(world)
    app = StripeEmulator(now=int(as_of.timestamp()), **emulator)
    app.load(objects)
    server = EmulatorServer(app, port=port)
    summary = {
        "subscriptions": len(objects["subscriptions"]),
        "customers": len(objects["customers"]),
        **summarise(objects),
        "build_s": round(time.monotonic() - started, 1),
    }
    ready.send(summary)
    del world, objects
    server.serve_forever()


@contextmanager
def serve_stripe_world(
    users: int,
    seed: int,
    as_of: datetime,
    *,
    emulator: dict[str, Any],
    warehouse_url: str | None = None,
    summarise: Summarise = lambda objects: {},
) -> Iterator[StripeWorld]:
    """The world's Stripe emulator (keyword arguments of `StripeEmulator` in `emulator`) in a child."""
    context = mp.get_context("fork")
    port = free_port()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_serve, args=(users, seed, as_of, port, emulator, warehouse_url, summarise, send), daemon=True
    )
    process.start()
    try:
        summary = receive.recv()  # blocks until the world is written and loaded
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url)
        assert process.pid is not None
        yield StripeWorld(url, summary, process.pid)
    finally:
        process.terminate()
        process.join(timeout=30)
