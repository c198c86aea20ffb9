"""Revenue history: MRR per customer per day, the day's movements, and the trends pushed nightly.

`customer_mrr_daily` and `mrr_movements` are daily-partitioned and backfillable from the UI; a
partition is MRR at the end of that UTC day, reconstructed from the latest subscription snapshot
(limits in docs/revenue.md). Rows live in the state store, one day rewritten whole per partition.
"""

import os
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from assets.metadata import errors_table
from assets.revenue.history_store import MrrHistory
from assets.revenue.movements import history_row, mrr_movements, revenue_on_day
from assets.revenue.rules import rules_for_run
from resources.settings import SyncSettings
from resources.state import StateStoreResource

OWNERS = ["team:revops"]
# How far back the UI offers history partitions; override with REVSYNC_HISTORY_START (YYYY-MM-DD).
HISTORY_START = os.environ.get("REVSYNC_HISTORY_START", "2025-01-01")

history_partitions = dg.DailyPartitionsDefinition(start_date=HISTORY_START)
HISTORY: dict[str, Any] = {
    "group_name": "revenue",
    "owners": OWNERS,
    "partitions_def": history_partitions,
    # One run for a whole backfill range: the snapshot is loaded once, days are cheap.
    "backfill_policy": dg.BackfillPolicy.single_run(),
}


def _days(context: dg.AssetExecutionContext) -> list[date]:
    return sorted(date.fromisoformat(key) for key in context.partition_keys)


@dg.asset(**HISTORY, kinds={"pandas", "sqlalchemy"})
def customer_mrr_daily(
    context: dg.AssetExecutionContext,
    stripe_subscriptions: pd.DataFrame,
    customer_accounts: pd.DataFrame,
    fx_rates: pd.DataFrame,
    settings: SyncSettings,
    state: StateStoreResource,
) -> dg.MaterializeResult:
    """MRR per Stripe customer at the end of each day, in its currency and the reporting currency."""
    history = MrrHistory(state.store)
    rules = rules_for_run(settings.reporting_currency, settings.parsed_fx_rates(), fx_rates)
    accounts = customer_accounts.set_index("customer_id")["account_id"]
    errors, rows, last_total = [], 0, 0
    for day in _days(context):
        customers, day_errors = revenue_on_day(stripe_subscriptions, day, rules)
        day_rows = history_row(day, customers, ("mrr_currency", "mrr_minor", "reporting_mrr_minor"))
        history.replace_day(day, day_rows.assign(account_id=day_rows["customer_id"].map(accounts)))
        errors += day_errors
        rows += len(day_rows)
        last_total = int(day_rows["reporting_mrr_minor"].fillna(0).sum())
    return dg.MaterializeResult(
        metadata={
            "days": len(context.partition_keys),
            "dagster/row_count": rows,
            "reporting_mrr_minor_last_day": last_total,
            "reporting_currency": rules.reporting_currency,
            "errors": errors_table(errors),
        }
    )


@dg.asset(**HISTORY, kinds={"pandas", "sqlalchemy"}, deps=[customer_mrr_daily])
def customer_mrr_movements(context: dg.AssetExecutionContext, state: StateStoreResource) -> dg.MaterializeResult:
    """Each day's MRR movement per customer against the day before: new, expansion, contraction,
    churn, reactivation or unchanged (reporting currency). A day whose previous day has no history
    is skipped and named in the metadata: backfill the day before first."""
    history = MrrHistory(state.store)
    counts: dict[str, int] = {}
    skipped: list[str] = []
    for day in _days(context):
        previous_day = day - timedelta(days=1)
        previous = history.days(previous_day, previous_day)
        if previous.empty:
            skipped.append(day.isoformat())
            continue
        current = history.days(day, day)
        moves = mrr_movements(previous, current, history.paid_before(previous_day), key="customer_id")
        accounts = pd.concat([previous, current]).drop_duplicates("customer_id").set_index("customer_id")["account_id"]
        history.replace_movements(day, moves.assign(account_id=moves["customer_id"].map(accounts)))
        for movement, n in moves["movement"].value_counts().items():
            counts[str(movement)] = counts.get(str(movement), 0) + int(n)
    if skipped:
        context.log.warning(f"no history for the day before {', '.join(skipped)}; backfill it first")
    return dg.MaterializeResult(
        metadata={"movements": dg.MetadataValue.json(counts), "skipped_days": dg.MetadataValue.json(skipped)}
    )
