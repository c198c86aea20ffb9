"""MRR movements and daily history: pure functions for the pipeline's daily-partitioned assets.

Movements compare one customer's (or account's) MRR between two snapshots (docs/revenue.md):
new, expansion, contraction, churn, reactivation or unchanged. History rows are
(day, <key>, <value column>); a key absent on a day has MRR 0 that day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from assets.revenue.frame import Framed, mrr_by_subscription
from assets.revenue.rollup import revenue_by_customer
from assets.revenue.rules import DEFAULT_RULES, RevenueRules

MOVEMENTS: tuple[str, ...] = ("new", "expansion", "contraction", "churn", "reactivation", "unchanged")


def classify(before: np.ndarray, after: np.ndarray, paid_before: np.ndarray) -> np.ndarray:
    """Movement per key from its MRR before and after, and whether it ever paid before."""
    return np.select(
        [
            (before == 0) & (after > 0) & ~paid_before,
            (before == 0) & (after > 0),
            (before > 0) & (after == 0),
            (before > 0) & (after > before),
            (after > 0) & (after < before),
        ],
        ["new", "reactivation", "churn", "expansion", "contraction"],
        default="unchanged",
    )


def mrr_movements(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    ever_paid: set[str] | pd.Series,
    key: str = "customer_id",
    value: str = "reporting_mrr_minor",
) -> pd.DataFrame:
    """Per key in either snapshot: mrr_before, mrr_after, mrr_delta, movement.

    `ever_paid`: keys that had MRR > 0 at any time before `previous` (new vs reactivation).
    Compare a single currency: by default the reporting-currency figure at configured rates.
    """
    joined = pd.merge(
        previous[[key, value]].rename(columns={value: "mrr_before"}),
        current[[key, value]].rename(columns={value: "mrr_after"}),
        on=key,
        how="outer",
    )
    before = joined["mrr_before"].fillna(0).to_numpy(np.int64)
    after = joined["mrr_after"].fillna(0).to_numpy(np.int64)
    paid = joined[key].isin(set(ever_paid)).to_numpy() | (before > 0)
    return pd.DataFrame(
        {
            key: joined[key],
            "mrr_before": before,
            "mrr_after": after,
            "mrr_delta": after - before,
            "movement": classify(before, after, paid),
        }
    )


def _complete(history: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """Every (key, day) from the key's first day to the last day of the history, absent = 0."""
    days = pd.to_datetime(history["day"]).dt.normalize()
    frame = pd.DataFrame({"day": days, key: history[key], value: history[value].fillna(0).astype(np.int64)})
    grid = pd.MultiIndex.from_product(
        [pd.date_range(days.min(), days.max(), freq="D"), pd.unique(frame[key])], names=["day", key]
    )
    full = frame.groupby(["day", key])[value].sum().reindex(grid, fill_value=0).reset_index()
    first_seen = frame.groupby(key)["day"].min()
    return full[full["day"] >= full[key].map(first_seen)].sort_values([key, "day"], ignore_index=True)


def history_movements(history: pd.DataFrame, key: str = "customer_id", value: str = "mrr_minor") -> pd.DataFrame:
    """Each day's movement per key from a daily MRR history (day, key, value).

    A key's first day in the history compares with 0 (so paying keys start as `new`).
    """
    full = _complete(history, key, value)
    grouped = full.groupby(key, sort=False)[value]
    before = grouped.shift(1, fill_value=0).to_numpy(np.int64)
    paid_so_far = (full[value] > 0).astype(np.int64).groupby(full[key], sort=False).cummax()
    paid_before = paid_so_far.groupby(full[key], sort=False).shift(1, fill_value=0).to_numpy(bool)
    after = full[value].to_numpy(np.int64)
    return full.rename(columns={value: "mrr_after"}).assign(
        mrr_before=before, mrr_delta=after - before, movement=classify(before, after, paid_before)
    )[["day", key, "mrr_before", "mrr_after", "mrr_delta", "movement"]]


def mrr_change_30d(history: pd.DataFrame, day: date, key: str = "customer_id", value: str = "mrr_minor") -> pd.Series:
    """MRR on `day` minus MRR 30 days earlier, per key (absent = 0)."""
    days = pd.to_datetime(history["day"]).dt.normalize()
    today, earlier = pd.Timestamp(day), pd.Timestamp(day) - pd.Timedelta(days=30)
    on = history[days == today].groupby(key)[value].sum()
    then = history[days == earlier].groupby(key)[value].sum()
    return on.sub(then, fill_value=0).astype(np.int64).rename("mrr_change_30d")


def last_mrr_movement(movements: pd.DataFrame, key: str = "customer_id") -> pd.DataFrame:
    """Per key, its latest movement other than `unchanged` and the day it happened."""
    moved = movements[movements["movement"] != "unchanged"].sort_values("day")
    last = moved.groupby(key).tail(1).set_index(key)
    return pd.DataFrame({"last_mrr_movement": last["movement"], "last_mrr_movement_at": last["day"]})


# --- MRR as of a past day, reconstructed from today's snapshot (limits: docs/revenue.md) ---

_NEVER_COUNTED = ("incomplete", "incomplete_expired")


def statuses_on(items: pd.DataFrame, moment: float) -> np.ndarray:
    """Each item row's subscription status at `moment` (epoch seconds), inferred from its dates.

    Not yet started -> "" (absent); ended -> canceled; within the trial -> trialing; paused since
    `paused_at` -> paused; never paid (incomplete*) -> unchanged; unpaid -> active before the current
    period started; otherwise the status today if it counts, else active (it was live then).
    """
    status = items["status"].to_numpy(object)
    start = np.where(np.isnan(items["start_date"]), items["created"], items["start_date"])
    ended = items["ended_at"].to_numpy()
    trial_end = items["trial_end"].to_numpy()
    paused = items["paused_at"].to_numpy()
    return np.select(
        [
            ~(start <= moment),
            ended <= moment,
            np.isin(status, _NEVER_COUNTED),
            trial_end > moment,
            paused <= moment,
            (status == "unpaid") & (items["current_period_start"].to_numpy() <= moment),
            np.isin(status, ["active", "past_due"]),
        ],
        ["", "canceled", status, "trialing", "paused", "unpaid", status],
        default="active",
    )


def revenue_on_day(items: pd.DataFrame, day: date, rules: RevenueRules | None = None) -> Framed:
    """Per-customer revenue at the end of `day` (UTC) from today's item rows (for history backfills).

    Statuses come from `statuses_on`; quantities, prices and discounts are today's.
    """
    rules = rules or DEFAULT_RULES
    last_second = datetime.combine(day, time(), tzinfo=UTC) + timedelta(days=1, seconds=-1)
    status = statuses_on(items, last_second.timestamp())
    live = items.assign(status=status)[status != ""].reset_index(drop=True)
    per_sub = mrr_by_subscription(live, rules, as_of=last_second)
    rolled = revenue_by_customer(per_sub.frame, rules)
    return Framed(rolled.frame, per_sub.errors + rolled.errors)


def history_row(day: date, customers: pd.DataFrame, columns: tuple[str, ...] = ("mrr_minor",)) -> pd.DataFrame:
    """A daily-history partition: (day, customer_id, <columns>) from `revenue_by_customer`'s frame."""
    return customers[["customer_id", *columns]].assign(day=pd.Timestamp(day)).loc[:, ["day", "customer_id", *columns]]
