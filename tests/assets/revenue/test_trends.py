"""mrr_change_30d and last_mrr_movement never invent a value from a missing day or figure."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from assets.revenue.history_store import MrrHistory
from assets.revenue.trends import account_trends
from resources.state import StateStore

TODAY = date(2026, 11, 20)


@pytest.fixture
def history(tmp_path) -> MrrHistory:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.create_all()
    return MrrHistory(store)


def record(history: MrrHistory, days_ago: int, **mrr_by_account: float | None) -> None:
    rows = pd.DataFrame(
        {
            "customer_id": [f"cus_{a}" for a in mrr_by_account],
            "account_id": list(mrr_by_account),
            "mrr_currency": "usd",
            "mrr_minor": list(mrr_by_account.values()),
            "reporting_mrr_minor": list(mrr_by_account.values()),
        }
    )
    history.replace_day(TODAY - timedelta(days=days_ago), rows)


def trends(history: MrrHistory, **now: float | None) -> dict[str, tuple]:
    revenue = pd.DataFrame({"account_id": list(now), "reporting_mrr_minor": pd.array(list(now.values()), "Float64")})
    frame = account_trends(history, revenue, TODAY).set_index("account_id")
    return {
        a: (None if pd.isna(r.mrr_change_30d_minor) else r.mrr_change_30d_minor, r.last_mrr_movement)
        for a, r in frame.iterrows()
    }


def test_change_and_last_movement_from_a_full_history(history):
    for days_ago in range(31, 0, -1):
        churned = {} if days_ago <= 5 else {"c": 500}  # c churned five days ago
        record(history, days_ago, a=1000 if days_ago > 10 else 1500, b=2000, **churned)
    result = trends(history, a=1500, b=2000, c=0, d=700)
    assert result["a"] == (500, "expansion")  # 1500 now - 1000 thirty days ago: 1000 -> 1500 ten days ago
    assert result["b"][0] == 0 and pd.isna(result["b"][1])  # flat: no movement
    assert result["c"] == (-500, "churn")
    assert result["d"][0] == 700  # not in the history 30 days back: it had no MRR then


def test_no_change_without_the_day_thirty_days_back(history):
    record(history, 31, a=1000)
    record(history, 29, a=1000)
    assert trends(history, a=1000)["a"][0] is None


def test_an_unknown_figure_is_not_a_change(history):
    record(history, 30, a=1000, b=None)
    result = trends(history, a=None, b=900)
    assert result["a"][0] is None and result["b"][0] is None


def test_a_missing_day_is_not_a_churn_and_a_reactivation(history):
    for days_ago in (40, 39, 38, 36, 35, 2, 1):  # gaps at 37 and from 34 to 3
        record(history, days_ago, a=5000)
    assert pd.isna(trends(history, a=5000)["a"][1])
