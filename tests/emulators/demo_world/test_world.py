"""The demo world: deterministic, streamed, written fast and identically to SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from emulators.demo_world import build_world, write_warehouse
from emulators.demo_world.planted import CASES
from emulators.demo_world.usage import EVENT_NAMES
from emulators.demo_world.warehouse_writer import insert_core, write_frame
from resources.warehouse import WarehouseResource
from tests.fixtures.warehouse_rows import validated_accounts, validated_users

AS_OF = datetime(2025, 3, 1, 6, 30, tzinfo=UTC)


def _frames(world) -> tuple[pd.DataFrame, pd.DataFrame]:
    chunks = list(world.chunks())
    return (
        pd.concat([c.users for c in chunks], ignore_index=True),
        pd.concat([c.events for c in chunks], ignore_index=True),
    )


def test_same_seed_same_world_other_seed_other_world() -> None:
    a, b, c = (build_world(3_000, seed, as_of=AS_OF) for seed in (7, 7, 8))
    pd.testing.assert_frame_equal(a.accounts, b.accounts)
    for left, right in zip(_frames(a), _frames(b), strict=True):
        pd.testing.assert_frame_equal(left, right)
    users_a, events_a = _frames(a)
    users_c, events_c = _frames(c)
    assert not users_a["email"].equals(users_c["email"])
    assert len(events_a) != len(events_c)


def test_chunks_regenerate_alone() -> None:
    """Chunk 1 is the same whether or not chunk 0 was made first; chunks cover every user once."""
    world = build_world(60_000, as_of=AS_OF)
    alone = world.random_chunk(1)
    streamed = list(world.chunks())
    assert [len(c.users) for c in streamed] == [50_000, 60_000 - 50_000 - len(world.planted_cases), len(CASES)]
    pd.testing.assert_frame_equal(alone.users, streamed[1].users)
    pd.testing.assert_frame_equal(alone.events, streamed[1].events)


def test_population_shape() -> None:
    world = build_world(20_000, as_of=AS_OF)
    users, events = _frames(world)
    assert len(users) == 20_000 and users["user_id"].is_unique
    assert set(users["account_id"]) == set(world.accounts["account_id"])
    sizes = world.accounts["user_count"]
    assert sizes.min() >= 1 and sizes.median() >= 2  # several users per account
    assert set(world.accounts["plan"]) == {"free", "starter", "pro", "enterprise"}
    assert set(world.accounts["currency"]) == {"usd", "eur", "gbp", "jpy"}

    emails = users["email"]
    assert (emails != emails.str.lower()).mean() > 0.02  # some typed in mixed case
    accounts_per_email = users.groupby(emails.str.lower())["account_id"].nunique()
    assert (accounts_per_email > 1).sum() >= 3  # a few shared across accounts
    signup_days = (pd.Timestamp(AS_OF.replace(tzinfo=None)) - users["created_at"]).dt.days
    assert signup_days.min() >= 0 and 600 < signup_days.max() <= 730

    assert set(events["event_name"]) == set(EVENT_NAMES)
    per_user = events.groupby("user_id").size().reindex(users["user_id"], fill_value=0)
    assert per_user.quantile(0.99) > 5 * max(per_user.median(), 1)  # skewed: a few heavy users
    assert events["occurred_at"].max() <= pd.Timestamp(AS_OF.replace(tzinfo=None))
    signups = events["user_id"].map(users.set_index("user_id")["created_at"])
    assert (events["occurred_at"] >= signups).all()


def test_a_thousand_users_are_written_whole(warehouse_url) -> None:
    summary = write_warehouse(build_world(1_000, as_of=AS_OF), warehouse_url)
    assert summary.users == 1_000 and summary.usage_events > 5_000


def test_writing_twice_leaves_identical_data_and_the_usage_index(warehouse_url) -> None:
    world = build_world(500, as_of=AS_OF)
    engine = sa.create_engine(warehouse_url)

    def contents() -> list[list[tuple]]:
        with engine.connect() as conn:
            return [
                conn.execute(sa.text(f"SELECT * FROM {t} ORDER BY 1, 2, 3")).all()
                for t in ("accounts", "users", "usage_events")
            ]

    first = write_warehouse(world, warehouse_url)
    before = contents()
    second = write_warehouse(build_world(500, as_of=AS_OF), warehouse_url)
    assert first == second
    assert contents() == before
    assert [len(rows) for rows in before] == [first.accounts, first.users, first.usage_events]
    indexes = sa.inspect(engine).get_indexes("usage_events")
    assert [i["column_names"] for i in indexes] == [["user_id", "occurred_at"]]
    engine.dispose()


def test_sqlite_and_postgres_hold_the_same_world(sqlite_url, postgres_url) -> None:
    world = build_world(2_000, as_of=AS_OF)
    metrics = {"reports_created": "report_created", "users_invited": "teammate_invited"}
    results = []
    for url in (sqlite_url, postgres_url):
        write_warehouse(world, url)
        resource = WarehouseResource(url=url)
        users, accounts = validated_users(resource, AS_OF), validated_accounts(resource, AS_OF)
        results.append((users, accounts, resource.usage_aggregates(metrics, AS_OF)))
    for left, right in zip(*results, strict=True):
        pd.testing.assert_frame_equal(left, right)
    users, _, usage = results[0]
    assert len(usage) == 2_000 and usage["last_active_at"].notna().mean() > 0.5
    assert users["created_at"].dt.tz is not None


def test_worlds_need_an_aware_as_of_and_room_for_the_planted_cases() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_world(100, as_of=datetime(2025, 3, 1))
    with pytest.raises(ValueError, match="at least"):
        build_world(5, as_of=AS_OF)


def test_portable_insert_path_stores_what_the_fast_paths_store(tmp_path, warehouse_url) -> None:
    """Databases other than SQLite and PostgreSQL get typed Core executemany: same rows back."""
    chunk = next(build_world(300, as_of=AS_OF).chunks())
    portable = WarehouseResource(url=f"sqlite:///{tmp_path / 'portable.db'}")
    fast = WarehouseResource(url=warehouse_url)
    for resource, write in ((portable, insert_core), (fast, write_frame)):
        tables = resource.tables()
        tables.metadata.create_all(resource.get_engine())
        with resource.get_engine().begin() as conn:
            write(conn, tables.users, chunk.users)
            write(conn, tables.usage_events, chunk.events)
    pd.testing.assert_frame_equal(validated_users(portable, AS_OF), validated_users(fast, AS_OF))
    metrics = {"reports_created": "report_created"}
    pd.testing.assert_frame_equal(portable.usage_aggregates(metrics, AS_OF), fast.usage_aggregates(metrics, AS_OF))
