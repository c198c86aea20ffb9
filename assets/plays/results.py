"""`play_results` rows: per segment with a holdout, the lift of the members who entered lately.

A member counts as converted when its stint's `converted_on` is within `goal_window_days` of entry.
Incremental MRR per member is the mean change of the member's account MRR (reporting currency)
from the day it entered to the latest recorded day, treatment minus control; it is empty when the
MRR history does not cover both days for any member of a group.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import pandas as pd

from assets.plays.lift import measure_lift
from assets.plays.membership import CONTROL, TREATMENT
from assets.plays.model import Plays, Segment

RESULT_COLUMNS = [
    "segment", "model", "day", "lookback_days", "members", "treatment_n", "treatment_conversions", "treatment_rate",
    "control_n", "control_conversions", "control_rate", "lift_pct_points", "relative_lift", "ci95_low", "ci95_high",
    "p_value", "incremental_mrr_per_member", "verdict",
]  # fmt: skip


def cohort(stints: pd.DataFrame, segment: Segment, today: date, lookback_days: int) -> pd.DataFrame:
    """The segment's stints entered in the last `lookback_days` days, with a `converted` flag."""
    since = pd.Timestamp(today - timedelta(days=lookback_days))
    mine = stints[(stints["segment"] == segment.name) & (stints["entered_on"] >= since)].copy()
    window = (mine["converted_on"] - mine["entered_on"]).dt.days
    mine["converted"] = mine["converted_on"].notna() & (window <= segment.goal_window_days)
    return mine


def mrr_change(members: pd.DataFrame, account_of: pd.Series | None, account_mrr: pd.DataFrame) -> pd.Series:
    """Per stint: reporting MRR (minor units) on the latest recorded day minus on the day it entered.

    `account_of` maps a contact key to its account (None: the key is the account, for companies);
    `account_mrr` has day, account_id, reporting_mrr_minor (summed per account and day).
    """
    if account_mrr.empty or members.empty:
        return pd.Series(dtype="Float64", index=members.index)
    by_day = account_mrr.set_index(["account_id", "day"])["reporting_mrr_minor"]
    latest_day = account_mrr["day"].max()
    accounts = members["key"] if account_of is None else members["key"].map(account_of)
    start = by_day.reindex(list(zip(accounts, members["entered_on"], strict=True))).to_numpy()
    end = by_day.reindex([(a, latest_day) for a in accounts]).to_numpy()
    return pd.Series(end, index=members.index, dtype="Float64") - pd.Series(start, index=members.index, dtype="Float64")


def segment_result(
    segment: Segment, members: pd.DataFrame, change: pd.Series, today: date, lookback_days: int, minor_per_major: int
) -> dict[str, Any]:
    treated, held = members["group"] == TREATMENT, members["group"] == CONTROL
    lift = measure_lift(
        int(treated.sum()), int(members.loc[treated, "converted"].sum()),
        int(held.sum()), int(members.loc[held, "converted"].sum()),
    )  # fmt: skip
    mean_t, mean_c = change[treated].mean(), change[held].mean()
    incremental = None if pd.isna(mean_t) or pd.isna(mean_c) else round(float(mean_t - mean_c) / minor_per_major, 2)
    row = {k: v for k, v in asdict(lift).items() if k != "ci95"}
    return {
        "segment": segment.name,
        "model": segment.model,
        "day": today,
        "lookback_days": lookback_days,
        "members": len(members),
        **row,
        "ci95_low": lift.ci95[0] if lift.ci95 else None,
        "ci95_high": lift.ci95[1] if lift.ci95 else None,
        "incremental_mrr_per_member": incremental,
    }


def play_results(
    plays: Plays,
    stints: pd.DataFrame,
    contact_accounts: pd.Series,
    account_mrr: pd.DataFrame,
    today: date,
    lookback_days: int,
    minor_per_major: int = 100,
) -> pd.DataFrame:
    """One row per segment with a holdout; `contact_accounts` maps a contact's key to its account."""
    rows = []
    for segment in plays.segments:
        if segment.holdout_percent <= 0:
            continue
        members = cohort(stints, segment, today, lookback_days)
        change = mrr_change(members, contact_accounts if segment.model == "contact" else None, account_mrr)
        rows.append(segment_result(segment, members, change, today, lookback_days, minor_per_major))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def demo_summary(results: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per segment: members, group sizes, lift, interval, p-value and verdict (the demo's JSON)."""
    summary: dict[str, dict[str, Any]] = {}
    for r in results.to_dict("records"):
        ci = None if r["ci95_low"] is None or pd.isna(r["ci95_low"]) else [r["ci95_low"], r["ci95_high"]]
        summary[r["segment"]] = {
            "members": int(r["members"]),
            "treatment": int(r["treatment_n"]),
            "control": int(r["control_n"]),
            "lift_pct_points": None if pd.isna(r["lift_pct_points"]) else r["lift_pct_points"],
            "ci95": ci,
            "p_value": None if pd.isna(r["p_value"]) else r["p_value"],
            "verdict": r["verdict"],
        }
    return summary
