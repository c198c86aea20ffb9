"""MRR history end to end: a backfilled range, idempotent re-runs, and the trends pushed nightly."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from assets.revenue import MOVEMENTS
from tests.e2e.harness import AS_OF, sync_world

pytestmark = pytest.mark.slow


def _rows(url: str, table: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = sorted(conn.execute(sa.text(f"select * from {table}")).all(), key=repr)
    engine.dispose()
    return rows


def test_history_backfill_is_idempotent_and_feeds_the_trends(warehouse_url):
    last = AS_OF.date() - timedelta(days=1)
    first = last - timedelta(days=34)
    with sync_world(warehouse_url) as env:
        backfill = env.backfill_history(first, last)
        assert backfill.success
        daily = _rows(warehouse_url, "revsync_mrr_daily")
        days = {str(row[0])[:10] for row in daily}
        assert len(days) == 35
        customers = backfill.asset_value("stripe_subscriptions")["customer_id"].nunique()
        assert sum(1 for row in daily if str(row[0])[:10] == last.isoformat()) == customers
        movements = _rows(warehouse_url, "revsync_mrr_movements")
        assert {str(row[0])[:10] for row in movements} == days - {first.isoformat()}  # day one has no "before"
        assert {row[-1] for row in movements} <= set(MOVEMENTS)

        again = env.backfill_history(first, last)
        assert again.success
        assert _rows(warehouse_url, "revsync_mrr_daily") == daily
        assert _rows(warehouse_url, "revsync_mrr_movements") == movements

        sync = env.run()
        assert sync.success
        contacts = sync.output_for_node("contact_attributes")
        paying = contacts[contacts["reporting_mrr"] > 0]
        assert paying["mrr_change_30d"].notna().all()
        movements = contacts["last_mrr_movement"].dropna()
        assert len(movements) > 0  # accounts that started paying inside the window moved
        assert set(movements) <= set(MOVEMENTS) - {"unchanged"}
        pushed = env.intercom_app.contacts_by_external_id()
        sample = paying.iloc[0]
        assert pushed[sample["external_id"]]["custom_attributes"]["mrr_change_30d"] == pytest.approx(
            sample["mrr_change_30d"]
        )


def test_each_backfilled_partition_carries_its_own_day_and_a_skipped_day_stays_missing(sqlite_url):
    last = AS_OF.date() - timedelta(days=1)
    first = last - timedelta(days=2)
    days = [(first + timedelta(days=n)).isoformat() for n in range(3)]
    with sync_world(sqlite_url) as env, dg.DagsterInstance.ephemeral() as instance:
        tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
        result = env.run("mrr_history", tags=tags, instance=instance)
        assert result.success
        daily = {
            event.partition: {k: v.value for k, v in event.metadata.items()}
            for event in result.asset_materializations_for_node("customer_mrr_daily")
        }
        assert sorted(daily) == days
        for day in days:  # each partition's figures are that day's own, read back from the history
            rows = [row for row in _rows(sqlite_url, "revsync_mrr_daily") if str(row[0])[:10] == day]
            assert daily[day]["customers"] == len(rows)
            assert daily[day]["mrr_usd"] == pytest.approx(sum(row[-1] or 0 for row in rows) / 100)
        # The first day has no day before it: its movements are skipped and not marked materialized.
        moved = instance.get_materialized_partitions(dg.AssetKey("customer_mrr_movements"))
        assert moved == set(days[1:])
        movements = {
            event.partition: {k: v.value for k, v in event.metadata.items()}
            for event in result.asset_materializations_for_node("customer_mrr_movements")
        }
        for day in days[1:]:
            rows = [row for row in _rows(sqlite_url, "revsync_mrr_movements") if str(row[0])[:10] == day]
            assert sum(movements[day][m] for m in MOVEMENTS) == len(rows)

        # Backfilling the day before as well fills the gap; that new first day is skipped in turn.
        earlier = {**tags, "dagster/asset_partition_range_start": (first - timedelta(days=1)).isoformat()}
        assert env.run("mrr_history", tags=earlier, instance=instance).success
        assert instance.get_materialized_partitions(dg.AssetKey("customer_mrr_movements")) == set(days)
