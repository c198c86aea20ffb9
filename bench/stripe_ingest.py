"""Stripe ingest: a full listing under the request budget, then a 1 %-changed night and a quiet one.

Builds a demo world of `--users` into the Stripe emulator, which runs in its own process (Stripe's
25/s per-endpoint limit on, 20-60 ms per call), so this process's CPU is the client's alone, and a
state store, then runs `sync_stripe_snapshot` three times:

1. a full listing at the test-mode budget (25 requests/s): wall time, calls, the budget's
   utilisation (listing calls per second over the budget) and how far this process's RSS rose;
2. a night after 1 % of subscriptions changed (seat counts, through the API, so Stripe emits
   their events): calls, as a ratio to the full listing's;
3. a quiet night: calls (the event pages only);
4. a pacing check: the customers listed again in pages of 10 (cheap pages, so the client's CPU is
   not the limit): calls per second over the budget, and 429s from the emulator's 25/s limit.

The last line is JSON. Figures are ratios within one run, so a loaded machine changes them little.

    .venv/bin/python bench/stripe_ingest.py [--users 20000] [--seed 7] [--budget 25]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stripe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assets.ingest.stripe_store import StripeSnapshotStore
from assets.ingest.stripe_sync import IngestOptions, IngestSummary, sync_stripe_snapshot
from bench.stripe_world import StripeWorld, serve_stripe_world
from resources.state.store import StateStore
from resources.stripe import StripeResource
from resources.stripe_ranges import Listing, list_concurrently

KEY = "sk_test_bench"
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class Timed:
    summary: IngestSummary
    wall_s: float
    cpu_s: float  # this process's CPU: the client's
    emulator_cpu_s: float
    rss_growth_mb: float  # this process's peak RSS during the sync, less its RSS before


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class RssPeak:
    """This process's highest RSS while the block runs, sampled every 20 ms (what the sync holds)."""

    def __enter__(self) -> RssPeak:
        self.start = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _sync(world: StripeWorld, budget: float, store: StateStore, now: int, concurrency: int) -> Timed:
    reader = StripeResource(
        api_key=KEY, base_url=world.url, requests_per_second=budget, max_concurrency=concurrency
    ).reader()
    started, cpu, emulator_cpu = time.monotonic(), time.process_time(), world.cpu_s()
    with RssPeak() as rss:
        summary = sync_stripe_snapshot(reader, StripeSnapshotStore(store), IngestOptions(now))
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    return Timed(summary, wall, cpu, world.cpu_s() - emulator_cpu, rss.peak - rss.start)


def _seats_to_change(share: float, seed: int) -> Any:
    """Runs in the emulator's child: (subscription, item, new quantity) for `share` of the live ones."""

    def pick(objects: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        subscriptions = objects["subscriptions"]
        live = [s for s in subscriptions if s["status"] in ("active", "trialing", "past_due")]
        picked = random.Random(seed).sample(live, max(1, int(len(subscriptions) * share)))
        items = [(s["id"], s["items"]["data"][0]) for s in picked]
        return {"seat_changes": [(sub, item["id"], (item.get("quantity") or 1) + 1) for sub, item in items]}

    return pick


def _change(client: stripe.StripeClient, seat_changes: list[tuple[str, str, int]]) -> int:
    for subscription, item, quantity in seat_changes:
        client.v1.subscriptions.update(subscription, {"items": [{"id": item, "quantity": quantity}]})
    return len(seat_changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=25.0, help="global requests/s (Stripe test mode: 25)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    emulator = {"rate_limit": None, "latency_ms": (20.0, 60.0)}
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_stripe_world(
            args.users, args.seed, AS_OF, emulator=emulator, summarise=_seats_to_change(0.01, args.seed)
        ) as world,
    ):
        store = StateStore(f"sqlite:///{Path(tmp) / 'state.db'}")
        store.create_all()
        world.configure(rate_limit=25)  # Stripe's per-endpoint limit
        full = _sync(world, args.budget, store, int(AS_OF.timestamp()), args.concurrency)
        pages = full.summary.listing_calls or 1
        print(
            f"full listing: {sum(full.summary.listed.values()):,} objects {full.summary.listed}, "
            f"{full.summary.stripe_calls} calls ({full.summary.listing_calls} listing) in {full.wall_s:.1f} s; "
            f"utilisation {full.summary.budget_utilisation} of {args.budget:g}/s; "
            f"429s {full.summary.stripe_rate_limited}; "
            f"CPU per listing call: client {1000 * full.cpu_s / pages:.1f} ms, emulator "
            f"{1000 * full.emulator_cpu_s / pages:.1f} ms; RSS +{full.rss_growth_mb:.0f} MB at its peak"
        )
        world.configure(rate_limit=None)  # the changes below are setup, not measured
        client = stripe.StripeClient(KEY, base_addresses={"api": world.url})
        world.advance(3600)
        changed = _change(client, world.summary["seat_changes"])
        world.configure(rate_limit=25)
        night = _sync(world, args.budget, store, world.advance(0), args.concurrency)
        print(
            f"1% night: {changed} subscriptions changed, {night.summary.events_read} events read, "
            f"{night.summary.stripe_calls} calls ({night.summary.stripe_calls / full.summary.stripe_calls:.3f} "
            f"of the full listing's) in {night.wall_s:.1f} s; refetched {night.summary.objects_refetched}"
        )
        quiet = _sync(world, args.budget, store, world.advance(3600), args.concurrency)
        print(
            f"quiet night: {quiet.summary.stripe_calls} calls {quiet.summary.stripe_calls_by_endpoint} "
            f"in {quiet.wall_s:.1f} s"
        )
        pacing = StripeResource(api_key=KEY, base_url=world.url, requests_per_second=args.budget).reader()
        started = time.monotonic()
        listed = list_concurrently(pacing.page, [Listing("customers")], max_concurrency=args.concurrency, page_size=10)
        pacing_s, usage = time.monotonic() - started, pacing.usage()
        pacing_utilisation = round(usage.calls / pacing_s / args.budget, 3)
        print(
            f"pacing check: {len(listed['customers']):,} customers in {usage.calls} pages of 10 in {pacing_s:.1f} s: "
            f"{usage.calls / pacing_s:.1f} calls/s = {pacing_utilisation} of the budget; 429s {usage.rate_limited}"
        )
        store.dispose()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        json.dumps(
            {
                "users": args.users,
                "subscriptions": full.summary.listed.get("subscription", 0),
                "budget_per_second": args.budget,
                "stripe_calls_full": full.summary.stripe_calls,
                "full_seconds": round(full.wall_s, 1),
                "full_rss_growth_mb": round(full.rss_growth_mb),
                "budget_utilisation": full.summary.budget_utilisation,
                "client_cpu_ms_per_listing_call": round(1000 * full.cpu_s / pages, 2),
                "emulator_cpu_ms_per_listing_call": round(1000 * full.emulator_cpu_s / pages, 2),
                "stripe_calls_night_1pct": night.summary.stripe_calls,
                "night_1pct_ratio": round(night.summary.stripe_calls / full.summary.stripe_calls, 4),
                "stripe_calls_noop": quiet.summary.stripe_calls,
                "pacing_utilisation": pacing_utilisation,
            }
        )
    )


if __name__ == "__main__":
    main()
