"""play_results rows from stored stints and MRR history: the cohort, the goal window, incremental MRR."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from assets.plays.lift import measure_lift
from assets.plays.load import parse_plays
from assets.plays.results import demo_summary, play_results

TODAY = date(2026, 11, 20)
PLAYS = parse_plays(
    {
        "segments": [
            {"name": "s", "title": "S", "holdout_percent": 50, "goal_window_days": 10,
             "when": {"attribute": "plan", "op": "eq", "value": "free"}},
            {"name": "no_holdout", "title": "N", "when": {"attribute": "plan", "op": "eq", "value": "free"}},
        ]
    },
    "t.yaml",
)  # fmt: skip


def stint(key: str, group: str, entered: str, converted: str | None = None) -> dict:
    return {"segment": "s", "key": key, "group": group, "entered_on": pd.Timestamp(entered), "exited_on": pd.NaT,
            "converted_on": pd.Timestamp(converted) if converted else pd.NaT, "exit_reason": None}  # fmt: skip


def test_cohort_goal_window_and_incremental_mrr():
    stints = pd.DataFrame(
        [
            stint("t1", "treatment", "2026-11-01", "2026-11-05"),  # converted within 10 days
            stint("t2", "treatment", "2026-11-01", "2026-11-15"),  # 14 days: outside the goal window
            stint("t3", "treatment", "2026-11-10"),
            stint("c1", "control", "2026-11-01"),
            stint("c2", "control", "2026-11-10", "2026-11-12"),
            stint("old", "treatment", "2026-05-01", "2026-05-02"),  # before the lookback
        ]
    )
    accounts = pd.Series({"t1": "a1", "t2": "a2", "t3": "a3", "c1": "b1", "c2": "b2"})
    mrr = pd.DataFrame(
        [
            # (day, account, reporting MRR in cents): t1 +50.00, t2 +0, t3 unknown at entry; c1 +10.00, c2 -10.00
            ("2026-11-01", "a1", 1000), ("2026-11-20", "a1", 6000),
            ("2026-11-01", "a2", 2000), ("2026-11-20", "a2", 2000),
            ("2026-11-20", "a3", 500),
            ("2026-11-01", "b1", 0), ("2026-11-20", "b1", 1000),
            ("2026-11-10", "b2", 3000), ("2026-11-20", "b2", 2000),
        ],
        columns=["day", "account_id", "reporting_mrr_minor"],
    )  # fmt: skip
    mrr["day"] = pd.to_datetime(mrr["day"])
    results = play_results(PLAYS, stints, accounts, mrr, TODAY, lookback_days=90)
    assert list(results["segment"]) == ["s"]  # a segment without a holdout has nothing to measure
    row = results.iloc[0]
    assert (row["treatment_n"], row["treatment_conversions"], row["control_n"], row["control_conversions"]) == (
        3,
        1,
        2,
        1,
    )
    expected = measure_lift(3, 1, 2, 1)
    assert row["lift_pct_points"] == expected.lift_pct_points and row["verdict"] == expected.verdict
    # Treatment mean (50 + 0) / 2 = 25.00 (t3 has no MRR on its entry day); control (10 - 10) / 2 = 0.
    assert row["incremental_mrr_per_member"] == pytest.approx(25.0)
    summary = demo_summary(results)["s"]
    assert summary["members"] == 5 and summary["treatment"] == 3 and summary["control"] == 2
    assert summary["ci95"] == [row["ci95_low"], row["ci95_high"]]


def test_without_mrr_history_the_incremental_mrr_is_empty():
    stints = pd.DataFrame([stint("t1", "treatment", "2026-11-01"), stint("c1", "control", "2026-11-01")])
    empty = pd.DataFrame(columns=["day", "account_id", "reporting_mrr_minor"])
    results = play_results(PLAYS, stints, pd.Series({"t1": "a", "c1": "b"}), empty, TODAY, lookback_days=90)
    assert results.iloc[0]["incremental_mrr_per_member"] is None
