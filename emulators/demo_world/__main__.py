"""Build a demo world and load it: `python -m emulators.demo_world --users N --warehouse-url URL
[--stripe-url URL] [--seed S] [--as-of ISO-8601]`.

Stripe objects go to a running emulator's `POST /_emulator/load`: the catalog first, then the
accounts' customers and subscriptions in batches, so a million-user world never becomes one body.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from emulators.demo_world.stripe_world import (
    account_objects,
    build_catalog,
    catalog_objects,
    planted_customer_objects,
)
from emulators.demo_world.warehouse_writer import write_warehouse
from emulators.demo_world.world import DemoWorld, build_world
from resources.warehouse import DEFAULT_WAREHOUSE_URL


def _as_of(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulators.demo_world", description=__doc__)
    parser.add_argument("--users", type=int, required=True, help="users in the world (100 to 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=_as_of, help="the world's 'now' (default: this minute, UTC)")
    parser.add_argument("--warehouse-url", default=DEFAULT_WAREHOUSE_URL, help="SQLAlchemy URL")
    parser.add_argument("--stripe-url", help="base URL of a running Stripe emulator")
    return parser


def load_stripe(world: DemoWorld, base_url: str) -> dict[str, int]:
    catalog = build_catalog()
    counts: dict[str, int] = {}
    batches = itertools.chain(
        [catalog_objects(catalog)], account_objects(world, catalog), [planted_customer_objects(world, catalog)]
    )
    with httpx.Client(base_url=base_url, timeout=300) as client:
        for batch in batches:
            client.post("/_emulator/load", json=batch).raise_for_status()
            for name, rows in batch.items():
                counts[name] = counts.get(name, 0) + len(rows)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    as_of = args.as_of or datetime.now(UTC).replace(second=0, microsecond=0)
    started = time.perf_counter()
    world = build_world(args.users, args.seed, as_of=as_of)
    summary = write_warehouse(world, args.warehouse_url)
    print(f"warehouse: {summary} in {time.perf_counter() - started:.1f}s (as_of {as_of.isoformat()})")
    if args.stripe_url:
        started = time.perf_counter()
        counts = load_stripe(world, args.stripe_url)
        print(f"stripe: {counts} in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
