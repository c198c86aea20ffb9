"""Stripe ingest: a full listing under the request budget, then a 1 %-changed night and a quiet one.

Builds a demo world of `--users` into the Stripe emulator (Stripe's 25/s per-endpoint limit on)
and a state store, then runs `sync_stripe_snapshot` three times:

1. a full listing at the test-mode budget (25 requests/s): wall time, calls, and the budget's
   utilisation (listing calls per second over the budget);
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
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import stripe

from assets.ingest.stripe_store import StripeSnapshotStore
from assets.ingest.stripe_sync import IngestOptions, IngestSummary, sync_stripe_snapshot
from emulators.demo_world.stripe_world import stripe_objects
from emulators.demo_world.world import build_world
from emulators.http import EmulatorServer
from emulators.stripe import StripeEmulator
from resources.state.store import StateStore
from resources.stripe import StripeResource
from resources.stripe_ranges import Listing, list_concurrently

KEY = "sk_test_bench"
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _sync(url: str, budget: float, store: StateStore, now: int, concurrency: int) -> tuple[IngestSummary, float]:
    reader = StripeResource(api_key=KEY, base_url=url, requests_per_second=budget, max_concurrency=concurrency).reader()
    started = time.monotonic()
    summary = sync_stripe_snapshot(reader, StripeSnapshotStore(store), IngestOptions(now))
    return summary, time.monotonic() - started


def _change(client: stripe.StripeClient, subscriptions: list[dict], share: float, seed: int) -> int:
    live = [s for s in subscriptions if s["status"] in ("active", "trialing", "past_due")]
    picked = random.Random(seed).sample(live, max(1, int(len(subscriptions) * share)))
    for sub in picked:
        item = sub["items"]["data"][0]
        client.v1.subscriptions.update(
            sub["id"], {"items": [{"id": item["id"], "quantity": (item.get("quantity") or 1) + 1}]}
        )
    return len(picked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=25.0, help="global requests/s (Stripe test mode: 25)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    world = build_world(args.users, args.seed, as_of=AS_OF)
    objects = stripe_objects(world)
    app = StripeEmulator(now=int(AS_OF.timestamp()), rate_limit=None, latency_ms=(20.0, 60.0))
    app.load(objects)
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(app) as server:
        store = StateStore(f"sqlite:///{Path(tmp) / 'state.db'}")
        store.create_all()
        app.configure(rate_limit=25)  # Stripe's per-endpoint limit
        now = int(AS_OF.timestamp())
        full, full_s = _sync(server.url, args.budget, store, now, args.concurrency)
        print(
            f"full listing: {sum(full.listed.values()):,} objects {full.listed}, {full.stripe_calls} calls "
            f"({full.listing_calls} listing) in {full_s:.1f} s; utilisation {full.budget_utilisation} of "
            f"{args.budget:g}/s; 429s {full.stripe_rate_limited}"
        )
        app.configure(rate_limit=None)  # the changes below are setup, not measured
        client = stripe.StripeClient(KEY, base_addresses={"api": server.url})
        app.advance(3600)
        changed = _change(client, objects["subscriptions"], 0.01, args.seed)
        app.configure(rate_limit=25)
        night, night_s = _sync(server.url, args.budget, store, app.state.now, args.concurrency)
        print(
            f"1% night: {changed} subscriptions changed, {night.events_read} events read, {night.stripe_calls} "
            f"calls ({night.stripe_calls / full.stripe_calls:.3f} of the full listing's) in {night_s:.1f} s; "
            f"refetched {night.objects_refetched}"
        )
        app.advance(3600)
        quiet, quiet_s = _sync(server.url, args.budget, store, app.state.now, args.concurrency)
        print(f"quiet night: {quiet.stripe_calls} calls {quiet.stripe_calls_by_endpoint} in {quiet_s:.1f} s")
        pacing = StripeResource(api_key=KEY, base_url=server.url, requests_per_second=args.budget).reader()
        started = time.monotonic()
        listed = list_concurrently(pacing.page, [Listing("customers")], max_concurrency=args.concurrency, page_size=10)
        pacing_s, usage = time.monotonic() - started, pacing.usage()
        pacing_utilisation = round(usage.calls / pacing_s / args.budget, 3)
        print(
            f"pacing check: {len(listed['customers']):,} customers in {usage.calls} pages of 10 in {pacing_s:.1f} s: "
            f"{usage.calls / pacing_s:.1f} calls/s = {pacing_utilisation} of the budget; 429s {usage.rate_limited}"
        )
        store.dispose()
    print(
        json.dumps(
            {
                "users": args.users,
                "subscriptions": full.listed.get("subscription", 0),
                "budget_per_second": args.budget,
                "stripe_calls_full": full.stripe_calls,
                "full_seconds": round(full_s, 1),
                "budget_utilisation": full.budget_utilisation,
                "stripe_calls_night_1pct": night.stripe_calls,
                "night_1pct_ratio": round(night.stripe_calls / full.stripe_calls, 4),
                "stripe_calls_noop": quiet.stripe_calls,
                "pacing_utilisation": pacing_utilisation,
            }
        )
    )


if __name__ == "__main__":
    main()
