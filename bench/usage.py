"""Benchmark of the usage aggregation at warehouse scale, on PostgreSQL.

    .venv/bin/python bench/usage.py [--events 10000000] [--users 1000000] [--repeats 3]

Fills a fresh database on the server of REVSYNC_TEST_POSTGRES_URL (default 127.0.0.1:5432) with
`--users` users and `--events` usage events spread over a year (generate_series, in the server),
adds the index the README recommends, `usage_events(user_id, event_name, occurred_at)`, and
times, alternately and `--repeats` times each, fetching every row of:

- the aggregation revsync runs (`UsageQuery.aggregate`: every user, zeros for users without
  events, ordered by user), and
- the bare `GROUP BY` it issues inside (`UsageQuery.per_user_counts`: one row per user with events).

`ratio` is the median of the first over the median of the second: what revsync adds to the
database's own aggregation. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resources.usage_query import DEFAULT_USAGE_METRICS, UsageQuery  # noqa: E402
from resources.warehouse import WarehouseResource, create_warehouse_engine  # noqa: E402
from tests.fixtures.databases import fresh_postgres_database, postgres_admin_url  # noqa: E402

AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
README_INDEX = "ix_usage_events_user_id_event_name_occurred_at"
# Events revsync counts plus as many it ignores, as a real product's event stream has.
NOISE_EVENTS = ("page_viewed", "session_started", "search_performed", "setting_changed")


def fill(url: str, users: int, events: int) -> float:
    """Users and events generated in the server; returns the seconds it took."""
    names = [*DEFAULT_USAGE_METRICS.values(), *NOISE_EVENTS]
    tables = WarehouseResource(url=url).tables()
    engine = create_warehouse_engine(url)
    started = time.monotonic()
    with engine.begin() as conn:
        tables.metadata.create_all(conn)
        conn.execute(
            sa.text(
                "INSERT INTO users (user_id, account_id, email, name, created_at) "
                "SELECT 'user-' || lpad(g::text, 8, '0'), 'account-' || (g / 5), 'user' || g || '@example.com', "
                "'User ' || g, :as_of - interval '400 days' FROM generate_series(1, :users) g"
            ),
            {"users": users, "as_of": AS_OF},
        )
        # 20 % of users never act (rows from the outer join only); the rest share the events.
        conn.execute(
            sa.text(
                "INSERT INTO usage_events (user_id, event_name, occurred_at) "
                "SELECT 'user-' || lpad((1 + floor(random() * :active))::int::text, 8, '0'), "
                "(CAST(:names AS text[]))[1 + floor(random() * :n_names)::int], "
                ":as_of - random() * interval '365 days' FROM generate_series(1, :events)"
            ),
            {"active": int(users * 0.8), "names": names, "n_names": len(names), "events": events, "as_of": AS_OF},
        )
        conn.exec_driver_sql(f"CREATE INDEX {README_INDEX} ON usage_events (user_id, event_name, occurred_at)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return time.monotonic() - started


def time_fetch(engine: sa.Engine, query: sa.Select) -> tuple[float, int]:
    started = time.monotonic()
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return time.monotonic() - started, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with fresh_postgres_database(postgres_admin_url(), prefix="revsync_bench_usage") as url:
        fill_s = fill(url, args.users, args.events)
        print(f"filled {args.users:,} users and {args.events:,} events in {fill_s:.1f} s (not timed below)")
        tables = WarehouseResource(url=url).tables()
        usage = UsageQuery(tables, DEFAULT_USAGE_METRICS, AS_OF)
        queries = {"aggregation": usage.aggregate(), "bare_group_by": usage.per_user_counts()}
        engine = create_warehouse_engine(url)
        timings: dict[str, list[float]] = {name: [] for name in queries}
        rows: dict[str, int] = {}
        for query in queries.values():  # a warm-up of each, untimed: both then read a warm cache
            time_fetch(engine, query)
        for _ in range(args.repeats):
            for name, query in queries.items():
                seconds, rows[name] = time_fetch(engine, query)
                timings[name].append(seconds)
                print(f"{name}: {seconds:.2f} s, {rows[name]:,} rows")
        engine.dispose()

    medians = {name: statistics.median(values) for name, values in timings.items()}
    load = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {load:.2f}")
    print(
        json.dumps(
            {
                "events": args.events,
                "users": args.users,
                "aggregation_s": round(medians["aggregation"], 2),
                "bare_group_by_s": round(medians["bare_group_by"], 2),
                "ratio": round(medians["aggregation"] / medians["bare_group_by"], 3),
                "index": "usage_events(user_id, event_name, occurred_at)",
            }
        )
    )


if __name__ == "__main__":
    main()
