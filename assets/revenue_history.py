"""Revenue history: MRR per customer per day, the day's movements, and the trends pushed nightly.

`customer_mrr_daily` and `mrr_movements` are daily-partitioned and backfillable from the UI; a
partition is MRR at the end of that UTC day, reconstructed from the latest subscription snapshot
(limits in docs/revenue.md). Rows live in the state store, one day rewritten whole per partition.
"""

import os
from datetime import date, timedelta

import dagster as dg
import pandas as pd

from assets.metadata import errors_table
from assets.revenue_movements import history_movements, history_row, last_mrr_movement, mrr_movements, revenue_on_day
from resources.mrr_history import MrrHistory
from resources.settings import SyncSettings
from resources.state import StateStoreResource

OWNERS = ["team:revops"]
# How far back the UI offers history partitions; override with REVSYNC_HISTORY_START (YYYY-MM-DD).
HISTORY_START = os.environ.get("REVSYNC_HISTORY_START", "2025-01-01")
MOVEMENT_WINDOW_DAYS = 90

history_partitions = dg.DailyPartitionsDefinition(start_date=HISTORY_START)
HISTORY = {
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
    rules = settings.revenue_rules(fx_rates)
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


def account_trends(history: MrrHistory, account_revenue: pd.DataFrame, today: date) -> pd.DataFrame:
    """Per account: reporting MRR change over 30 days and the latest movement in the last
    MOVEMENT_WINDOW_DAYS days of history.

    Nothing is invented: the change is NA when the day 30 days back was never recorded or either
    figure is unknown (no exchange rate), and movements compare consecutive *recorded* days, so a
    day missing from the history is never read as zero MRR.
    """
    now = account_revenue.set_index("account_id")["reporting_mrr_minor"].astype("Float64")
    then_rows = history.days(today - timedelta(days=30), today - timedelta(days=30)).dropna(subset=["account_id"])
    if then_rows.empty:
        change = pd.Series(pd.NA, index=now.index, dtype="Float64")
    else:
        then = then_rows.groupby("account_id")["reporting_mrr_minor"].sum(min_count=1).astype("Float64")
        # The day was recorded: an account without rows that day had no MRR.
        then = then.reindex(now.index).mask(~now.index.isin(then.index), 0.0)
        change = now - then
    return pd.DataFrame(
        {
            "account_id": now.index,
            "mrr_change_30d_minor": change.to_numpy(),
            "last_mrr_movement": _last_movements(history, today).reindex(now.index).to_numpy(),
        }
    )


def _last_movements(history: MrrHistory, today: date) -> pd.Series:
    """Latest movement per account between consecutive recorded days of the window."""
    window = history.days(today - timedelta(days=MOVEMENT_WINDOW_DAYS + 1), today).dropna(subset=["account_id"])
    per_account = window.groupby(["day", "account_id"], as_index=False)["reporting_mrr_minor"].sum(min_count=1)
    # An account with an unknown figure on any day has no trustworthy movement in this window.
    unknown = set(per_account.loc[per_account["reporting_mrr_minor"].isna(), "account_id"])
    per_account = per_account[~per_account["account_id"].isin(unknown)]
    if per_account["day"].nunique() < 2:
        return pd.Series(dtype=object)
    # Number the recorded days 0, 1, 2, … so a gap in the history is a step, not days of zero MRR.
    recorded = sorted(per_account["day"].unique())
    step = {day: pd.Timestamp("2000-01-01") + pd.Timedelta(days=i) for i, day in enumerate(recorded)}
    back = {v: k for k, v in step.items()}
    moves = history_movements(
        per_account.assign(day=per_account["day"].map(step)), key="account_id", value="reporting_mrr_minor"
    )
    moves = moves[moves["day"] > step[recorded[0]]].assign(day=lambda f: f["day"].map(back))  # day one seeds
    return last_mrr_movement(moves, key="account_id")["last_mrr_movement"]


@dg.asset(group_name="attributes", kinds={"pandas"}, owners=OWNERS, deps=[customer_mrr_movements])
def account_mrr_trends(
    account_revenue: pd.DataFrame, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Per account: `mrr_change_30d` (today's MRR against the history 30 days ago) and
    `last_mrr_movement` (the latest movement in the last 90 days of history)."""
    history = MrrHistory(state.store)
    frame = account_trends(history, account_revenue, settings.now().date())
    recorded = history.recorded_days()
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            "history_days": f"{recorded[0]} .. {recorded[1]}" if recorded else "none yet",
            "accounts_with_change": int(frame["mrr_change_30d_minor"].notna().sum()),
            "last_movements": dg.MetadataValue.json(
                {str(k): int(v) for k, v in frame["last_mrr_movement"].value_counts().items()}
            ),
        },
    )
