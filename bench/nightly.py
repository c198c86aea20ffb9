"""The whole nightly sync at scale: the real `nightly_sync` job, three nights, on PostgreSQL.

    .venv/bin/python bench/nightly.py [--users 100000] [--intercom-rate-limit-per-minute 60000]

A child process builds the demo world of `--users` users, writes it into a fresh PostgreSQL
database (on the server of REVSYNC_TEST_POSTGRES_URL, default 127.0.0.1:5432) and serves it from
the Stripe emulator (25 requests/s per endpoint, as Stripe's test mode); a second child runs the
Intercom emulator (50-150 ms per call; its rate limit is a flag so that a first sync fits in bench
time, and every rate below is also given as a ratio to it). This process runs only the job, so
its CPU time and peak RSS are the sync's. Stages, each one `nightly_sync` run:

  (a) first sync: an empty Intercom workspace and state store;
  (b) a night with `--changed` (1 %) of the subscriptions changed through Stripe's API (a seat
      more) and as many users given one usage event more in the warehouse;
  (c) a night with nothing changed.

Per stage it prints wall time, CPU time (the job's and each emulator's), peak RSS, Stripe calls
(the Stripe emulator's request counter: what the job asked Stripe, the bench's own changes
excluded), Intercom calls by route and per record written, and the longest steps. The last line
is JSON; its keys are defined in bench/README.md.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import stripe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The Definitions need an environment to load; the bench passes its own resources to every run.
os.environ.setdefault("REVSYNC_ENV", "demo")

import dagster as dg  # noqa: E402

from bench.stripe_world import StripeWorld, free_port, process_cpu_s, serve_stripe_world  # noqa: E402
from emulators.runner import wait_until_healthy  # noqa: E402
from orchestration.definitions import defs  # noqa: E402
from orchestration.environments import DEMO_FX_RATES, EmulatorAccess, emulator_resources  # noqa: E402
from resources.intercom import IntercomResource  # noqa: E402
from resources.settings import DEFAULT_USAGE_METRICS, SyncSettings  # noqa: E402
from resources.warehouse import create_warehouse_engine  # noqa: E402
from tests.fixtures.databases import fresh_postgres_database, postgres_admin_url  # noqa: E402

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STRIPE_KEY = "sk_test_revsync_bench"
INTERCOM_TOKEN = "revsync-bench-token"
STRIPE_RATE_LIMIT = 25  # per endpoint per second, the emulator's default (Stripe's test mode)
SCHEMA_READS = "GET /data_attributes"  # the schema check every run starts with
WRITE_PREFIXES = ("POST", "PUT", "DELETE")
# The world's data is test-mode data: let lifecycle events go out, as they would in live mode.
# The console shows INFO and above: the push's progress, not every step event.
RUN_CONFIG = {
    "ops": {"intercom_lifecycle_events": {"config": {"allow_test_mode": True}}},
    "loggers": {"console": {"config": {"log_level": "INFO"}}},
}
STEPS_SHOWN = 8


# -- the emulators, in child processes ---------------------------------------------------------
def _seat_changes(fraction: float, seed: int) -> Any:
    """Runs in the Stripe emulator's child: (subscription, item, new quantity), one seat more on
    `fraction` of all subscriptions."""

    def pick(objects: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        import random

        subscriptions = objects["subscriptions"]
        candidates = [
            (sub["id"], item["id"], int(item["quantity"]) + 1)
            for sub in subscriptions
            if sub["status"] in ("active", "trialing", "past_due")
            for item in sub["items"]["data"][:1]
            if item.get("quantity") is not None and item["price"]["recurring"].get("usage_type") != "metered"
        ]
        wanted = min(len(candidates), round(len(subscriptions) * fraction))
        return {"seat_changes": random.Random(seed).sample(candidates, wanted)}

    return pick


@dataclass
class Emulators:
    stripe: StripeWorld
    intercom_url: str
    intercom_pid: int

    @property
    def stripe_url(self) -> str:
        return self.stripe.url

    @property
    def world(self) -> dict[str, Any]:
        return self.stripe.summary

    def intercom_counters(self) -> Counter[str]:
        return Counter(httpx.get(f"{self.intercom_url}/_emulator/requests", timeout=30).json())

    def cpu_s(self) -> dict[str, float]:
        return {"stripe": self.stripe.cpu_s(), "intercom": process_cpu_s(self.intercom_pid)}


@contextmanager
def emulators(args: argparse.Namespace, warehouse_url: str) -> Iterator[Emulators]:
    intercom_port = free_port()
    intercom_args = ["--port", str(intercom_port), "--latency-ms", args.intercom_latency_ms, "--token", INTERCOM_TOKEN]
    intercom_args += ["--rate-limit-per-minute", str(args.intercom_rate_limit_per_minute)]
    intercom_process = subprocess.Popen(
        [sys.executable, "-m", "emulators", "intercom", *intercom_args], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    stripe_emulator = {"rate_limit": STRIPE_RATE_LIMIT, "api_keys": {STRIPE_KEY}}
    try:
        with serve_stripe_world(
            args.users,
            args.seed,
            AS_OF,
            emulator=stripe_emulator,
            warehouse_url=warehouse_url,
            summarise=_seat_changes(args.changed, args.seed),
        ) as stripe_world:
            intercom_url = f"http://127.0.0.1:{intercom_port}"
            wait_until_healthy(intercom_url)
            yield Emulators(stripe_world, intercom_url, intercom_process.pid)
    finally:
        intercom_process.terminate()
        intercom_process.wait(timeout=30)


# -- one night ----------------------------------------------------------------------------------
class Sampler:
    """Every `interval_s`: wall clock, this process's CPU time and the Stripe emulator's request
    counter, so that CPU per step and Stripe's rate while it was read come out of one series."""

    def __init__(self, stripe_calls: Any, interval_s: float = 0.5) -> None:
        self._stripe_calls, self.interval_s = stripe_calls, interval_s
        self._stop = threading.Event()
        self.samples: list[tuple[float, float, int]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.samples.append((time.time(), time.process_time(), self._stripe_calls()))

    def _run(self) -> None:
        self._sample()
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def cpu_between(self, start: float, end: float) -> float:
        """This process's CPU time between two wall-clock instants (to the nearest samples)."""
        times = [t for t, _, _ in self.samples]
        first = max(bisect.bisect_right(times, start) - 1, 0)
        last = min(bisect.bisect_left(times, end), len(times) - 1)
        return self.samples[last][1] - self.samples[first][1]

    @property
    def stripe_rate(self) -> float:
        """Stripe calls per second over the intervals in which the counter moved."""
        moved = [b[2] - a[2] for a, b in itertools.pairwise(self.samples) if b[2] > a[2]]
        return sum(moved) / (len(moved) * self.interval_s) if moved else 0.0


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for event in result.asset_materializations_for_node(asset):
        values.update({key: value.value for key, value in event.metadata.items()})
    return values


def _steps(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, float, float]]:
    """(step, start, end) in wall-clock seconds, from the run's event log."""
    starts: dict[str, float] = {}
    steps = []
    for entry in instance.all_logs(run_id):
        event, step = entry.dagster_event, entry.step_key
        if event is None or step is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[step] = entry.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            steps.append((step, starts.get(step, entry.timestamp), entry.timestamp))
    return steps


def run_night(
    name: str, emu: Emulators, warehouse_url: str, args: argparse.Namespace, instance: dg.DagsterInstance
) -> dict[str, Any]:
    resources = emulator_resources(
        EmulatorAccess(emu.stripe_url, STRIPE_KEY, emu.intercom_url, INTERCOM_TOKEN),
        warehouse_url=warehouse_url,
        settings=SyncSettings(as_of=AS_OF.isoformat(), fx_rates=DEMO_FX_RATES),
        stripe_requests_per_second=args.stripe_requests_per_second,
    )
    # A new resource, not a model_copy: Dagster builds a resource from its constructor arguments.
    resources["intercom"] = IntercomResource(
        access_token=INTERCOM_TOKEN, base_url=emu.intercom_url, max_concurrency=args.intercom_in_flight
    )
    stripe_before, intercom_before = emu.stripe.counters(), emu.intercom_counters()
    emulator_cpu_before = emu.cpu_s()
    cpu_before, wall_before = time.process_time(), time.monotonic()
    with Sampler(lambda: emu.stripe.counters()["total"]) as sampler:
        result = defs.resolve_job_def("nightly_sync").execute_in_process(
            resources=resources, run_config=RUN_CONFIG, instance=instance, raise_on_error=False
        )
    wall, cpu = time.monotonic() - wall_before, time.process_time() - cpu_before
    emulator_cpu = {k: round(v - emulator_cpu_before[k], 1) for k, v in emu.cpu_s().items()}
    stripe_calls = emu.stripe.counters()["total"] - stripe_before["total"]
    intercom = emu.intercom_counters()
    intercom.subtract(intercom_before)
    routes = {k.removeprefix("route:"): v for k, v in intercom.items() if k.startswith("route:") and v}
    contacts, companies = _metadata(result, "intercom_contacts"), _metadata(result, "intercom_companies")
    events = _metadata(result, "intercom_lifecycle_events")
    written = {
        "contacts_created": int(contacts.get("created", 0)),
        "contacts_updated": int(contacts.get("updated", 0)),
        "companies_upserted": int(companies.get("created", 0)) + int(companies.get("updated", 0)),
        "events_sent": int(events.get("events_sent", 0)),
    }
    records = sum(written.values())
    calls = intercom["total"]
    schema_reads = sum(v for k, v in routes.items() if k.startswith(SCHEMA_READS))
    push_requests = int(contacts.get("requests", 0)) + int(companies.get("requests", 0))
    steps = {
        step: (end - start, sampler.cpu_between(start, end)) for step, start, end in _steps(instance, result.run_id)
    }
    push_cpu_s = float(contacts.get("cpu_s", 0.0)) + float(companies.get("cpu_s", 0.0))
    return {
        "stage": name,
        "success": result.success,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "emulator_cpu_s": emulator_cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "stripe_calls": stripe_calls,
        "stripe_rate_per_s": round(sampler.stripe_rate, 2),
        "intercom_calls": calls,
        "intercom_writes": sum(v for k, v in routes.items() if k.startswith(WRITE_PREFIXES)),
        "intercom_429": intercom["status:429"],
        "intercom_routes": routes,
        "records_written": written,
        "intercom_calls_per_change": round((calls - schema_reads) / records, 3) if records else None,
        "intercom_calls_per_new_contact": (
            round(push_requests / written["contacts_created"], 3) if written["contacts_created"] else None
        ),
        "push_s": round(float(contacts.get("duration_s", 0.0)) + float(companies.get("duration_s", 0.0)), 1),
        "push_requests": push_requests,
        "push_cpu_ms_per_call": round(1000 * push_cpu_s / push_requests, 3) if push_requests else None,
        "steps": steps,
        "outside_steps_s": round(wall - sum(w for w, _ in steps.values()), 1),
    }


# -- the changes between nights -------------------------------------------------------------
def change_one_percent(emu: Emulators, warehouse_url: str, seed: int) -> dict[str, int]:
    """A seat more on the chosen subscriptions (through Stripe's API, so it emits its events) and
    one counted usage event more for as many users."""
    changes = emu.world["seat_changes"]
    emu.stripe.configure(rate_limit=None)  # the bench's own writes are not the job's Stripe budget
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": emu.stripe_url})
    for subscription, item, quantity in changes:
        client.v1.subscriptions.update(subscription, {"items": [{"id": item, "quantity": quantity}]})
    emu.stripe.configure(rate_limit=STRIPE_RATE_LIMIT)
    event_name = next(iter(DEFAULT_USAGE_METRICS.values()))
    engine = create_warehouse_engine(warehouse_url)
    with engine.begin() as conn:
        inserted = conn.execute(
            sa.text(
                "INSERT INTO usage_events (user_id, event_name, occurred_at) "
                "SELECT user_id, :event, :at FROM users ORDER BY md5(user_id || :seed) LIMIT :n"
            ),
            {"event": event_name, "at": AS_OF - timedelta(hours=1), "seed": str(seed), "n": len(changes)},
        ).rowcount
    engine.dispose()
    return {"subscriptions_changed": len(changes), "users_with_new_usage": inserted}


def _print_stage(stage: dict[str, Any]) -> None:
    per_change = stage["intercom_calls_per_change"]
    print(
        f"({stage['stage']}) {'ok' if stage['success'] else 'FAILED'}: wall {stage['wall_s']} s, "
        f"CPU {stage['cpu_s']} s (emulators {stage['emulator_cpu_s']}), peak RSS {stage['peak_rss_mb']} MB, "
        f"Stripe {stage['stripe_calls']:,} calls "
        f"({stage['stripe_rate_per_s']}/s while reading), Intercom {stage['intercom_calls']:,} calls "
        f"({stage['intercom_writes']:,} writes, {stage['intercom_429']} 429s), written {stage['records_written']}, "
        f"{per_change} calls per record written, push {stage['push_s']} s at "
        f"{stage['push_cpu_ms_per_call']} ms CPU per call",
        flush=True,
    )
    print(f"    Intercom calls by route: {json.dumps(stage['intercom_routes'])}", flush=True)
    slowest = sorted(stage["steps"].items(), key=lambda step: -step[1][0])[:STEPS_SHOWN]
    shown = ", ".join(f"{step} {wall:.1f}/{cpu:.1f}" for step, (wall, cpu) in slowest)
    print(f"    slowest steps (wall/CPU s): {shown}; outside steps {stage['outside_steps_s']} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000, help="users in the demo world (1,000,000 supported)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--changed", type=float, default=0.01, help="share of subscriptions changed for night (b)")
    # Six times Intercom's: a 100,000-user first sync (~232,000 calls) then fits in 20 minutes, and
    # the push is held by its calls in flight, not by this limit (bench/README.md).
    parser.add_argument("--intercom-rate-limit-per-minute", type=int, default=60_000)
    parser.add_argument("--intercom-latency-ms", default="50,150")
    # Intercom's latency over the calls in flight bounds the push: 32 at a mean 100 ms is 320 calls/s.
    parser.add_argument("--intercom-in-flight", type=int, default=32, help="IntercomResource.max_concurrency")
    parser.add_argument("--stripe-requests-per-second", type=float, default=20.0, help="StripeResource's budget")
    args = parser.parse_args()

    started = time.monotonic()
    with (
        fresh_postgres_database(postgres_admin_url(), prefix="revsync_bench_nightly") as warehouse_url,
        emulators(args, warehouse_url) as emu,
        dg.DagsterInstance.ephemeral() as instance,
    ):
        world = emu.world
        print(
            f"world: {args.users:,} users, {world['subscriptions']:,} subscriptions, {world['customers']:,} "
            f"customers, built, written and loaded in {world['build_s']} s (not timed below)",
            flush=True,
        )
        budget = args.stripe_requests_per_second
        first = run_night("a: first sync", emu, warehouse_url, args, instance)
        _print_stage(first)
        changes = change_one_percent(emu, warehouse_url, args.seed)
        print(f"changes: {changes}", flush=True)
        night = run_night("b: 1 % changed", emu, warehouse_url, args, instance)
        _print_stage(night)
        noop = run_night("c: nothing changed", emu, warehouse_url, args, instance)
        _print_stage(noop)

    limit_per_s = args.intercom_rate_limit_per_minute / 60
    push_rate = first["push_requests"] / first["push_s"] if first["push_s"] else 0.0
    load = os.getloadavg()
    print(
        f"first-sync push: {push_rate:.0f} calls/s = {push_rate / limit_per_s:.2f} of the emulator's limit "
        f"({limit_per_s:.0f}/s); whole bench {time.monotonic() - started:.0f} s; load average {load[0]:.2f} "
        f"{load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    print(
        json.dumps(
            {
                "users": args.users,
                "first_sync_s": first["wall_s"],
                "night_1pct_s": night["wall_s"],
                "night_noop_s": noop["wall_s"],
                "stripe_calls_full": first["stripe_calls"],
                "stripe_calls_night_1pct": night["stripe_calls"],
                "stripe_calls_noop": noop["stripe_calls"],
                "intercom_calls_per_change": night["intercom_calls_per_change"],
                "intercom_calls_per_new_contact": first["intercom_calls_per_new_contact"],
                "intercom_writes_noop": noop["intercom_writes"],
                "push_cpu_ms_per_call": first["push_cpu_ms_per_call"],
                "push_rate_vs_limit": round(push_rate / limit_per_s, 3),
                "intercom_limit_per_minute": args.intercom_rate_limit_per_minute,
                "intercom_in_flight": args.intercom_in_flight,
                "peak_rss_mb": max(s["peak_rss_mb"] for s in (first, night, noop)),
                "stripe_utilisation": round(first["stripe_rate_per_s"] / budget, 3),
                "success": first["success"] and night["success"] and noop["success"],
            }
        )
    )


if __name__ == "__main__":
    main()
