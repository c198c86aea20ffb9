"""MRR trends per account from the recorded history: the 30-day change and the latest movement."""

from datetime import date, timedelta

import pandas as pd

from assets.revenue.history_store import MrrHistory
from assets.revenue.movements import history_movements, last_mrr_movement

MOVEMENT_WINDOW_DAYS = 90


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
