"""Revenue history: MRR per customer per day, the day's movements, and the trends pushed nightly.

`customer_mrr_daily` and `mrr_movements` are daily-partitioned and backfillable from the UI; a
partition is MRR at the end of that UTC day, reconstructed from the latest subscription snapshot
(limits in docs/revenue.md). Rows live in the state store, one day rewritten whole per partition.
"""

import os
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from assets.metadata import errors_table
from assets.revenue.history_store import MrrHistory
from assets.revenue.money import Money
from assets.revenue.movements import MOVEMENTS, history_row, mrr_movements, revenue_on_day
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
    """MRR per Stripe customer at the end of each day, in its currency and the reporting currency.

    Each partition's metadata is its own day's: `customers` (rows recorded), `paying_customers`,
    `mrr_<currency>` (total reporting MRR that day, major units) and `errors` (subscriptions that
    could not be valued that day).
    """
    history = MrrHistory(state.store)
    rules = rules_for_run(settings.reporting_currency, settings.parsed_fx_rates(), fx_rates)
    accounts = customer_accounts.set_index("customer_id")["account_id"]
    for day in _days(context):
        customers, errors = revenue_on_day(stripe_subscriptions, day, rules)
        day_rows = history_row(day, customers, ("mrr_currency", "mrr_minor", "reporting_mrr_minor"))
        history.replace_day(day, day_rows.assign(account_id=day_rows["customer_id"].map(accounts)))
        reporting = day_rows["reporting_mrr_minor"].fillna(0)
        total = Money(int(reporting.sum()), rules.reporting_currency).major()
        context.add_asset_metadata(
            {
                "customers": len(day_rows),
                "paying_customers": int((reporting > 0).sum()),
                f"mrr_{rules.reporting_currency.lower()}": float(total),
                "errors": errors_table(errors),
            },
            partition_key=day.isoformat(),
        )
    return dg.MaterializeResult()


@dg.asset(**HISTORY, kinds={"pandas", "sqlalchemy"}, deps=[customer_mrr_daily], output_required=False)
def customer_mrr_movements(
    context: dg.AssetExecutionContext, state: StateStoreResource, settings: SyncSettings
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """Each day's MRR movement per customer against the day before: new, expansion, contraction,
    churn, reactivation or unchanged (reporting currency).

    Each partition's metadata is its own day's: one count per movement and `net_mrr_change_<currency>`
    (major units). A day whose previous day has no history is skipped and NOT marked materialized
    (the run log names it): backfill the day before first.
    """
    history = MrrHistory(state.store)
    currency = settings.reporting_currency.lower()
    done: dict[str, dict[str, float | int]] = {}
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
        counts = moves["movement"].value_counts()
        net = Money(int(moves["mrr_delta"].sum()), currency).major()
        done[day.isoformat()] = {
            **{movement: int(counts.get(movement, 0)) for movement in MOVEMENTS},
            f"net_mrr_change_{currency}": float(net),
        }
    if not skipped:
        for day_key, metadata in done.items():
            context.add_asset_metadata(metadata, partition_key=day_key)
        yield dg.MaterializeResult()
        return
    # Only the days computed are recorded; the output is not yielded, so the skipped days stay missing.
    context.log.warning(f"no history for the day before {', '.join(skipped)}; backfill it first (not materialized)")
    for day_key, metadata in done.items():
        yield dg.AssetMaterialization(asset_key=context.asset_key, partition=day_key, metadata=metadata)
