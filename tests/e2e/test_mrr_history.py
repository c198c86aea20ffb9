"""MRR history end to end: a backfilled range, idempotent re-runs, and the trends pushed nightly."""

from __future__ import annotations

from datetime import timedelta

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
