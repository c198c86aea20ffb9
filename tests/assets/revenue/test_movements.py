"""MRR movements on a scripted 5-day history of one account, history helpers and day reconstruction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from assets.revenue import mrr_by_subscription, revenue_by_account, subscriptions_frame
from assets.revenue.movements import (
    history_movements,
    last_mrr_movement,
    mrr_change_30d,
    mrr_movements,
    revenue_on_day,
    statuses_on,
)
from tests.assets.revenue.test_exact_cases import DAY, item, price, sub

DAY_1 = date(2026, 10, 1)
ACCOUNTS = {"cus_a": "acc_1", "cus_b": "acc_1"}


def _account_mrr(subscriptions: list[dict], day: date) -> pd.DataFrame:
    as_of = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=23)
    per_sub = mrr_by_subscription(subscriptions_frame(subscriptions).frame, as_of=as_of).frame
    return revenue_by_account(per_sub, ACCOUNTS).frame


# One account, two Stripe customers. Each day is that evening's subscription snapshot.
SCRIPT: list[tuple[list[dict], int, str]] = [
    ([sub(item(price(5000), 1), sid="s1", customer="cus_a")], 5000, "new"),  # 0 -> 5000
    (  # a second subscription on the other customer: 5000 + 2000
        [sub(item(price(5000), 1), sid="s1", customer="cus_a"), sub(item(price(1000), 2), sid="s2", customer="cus_b")],
        7000,
        "expansion",
    ),
    (  # one seat fewer: 5000 + 1000
        [sub(item(price(5000), 1), sid="s1", customer="cus_a"), sub(item(price(1000), 1), sid="s2", customer="cus_b")],
        6000,
        "contraction",
    ),
    (  # both canceled: 0
        [
            sub(item(price(5000), 1), sid="s1", customer="cus_a", status="canceled"),
            sub(item(price(1000), 1), sid="s2", customer="cus_b", status="canceled"),
        ],
        0,
        "churn",
    ),
    (  # a new annual subscription: 72000 / 12 = 6000
        [sub(item(price(72000, "year"), 1), sid="s3", customer="cus_a")],
        6000,
        "reactivation",
    ),
]


def test_five_day_script_new_expansion_contraction_churn_reactivation() -> None:
    previous = pd.DataFrame({"account_id": [], "mrr_minor": []})
    ever_paid: set[str] = set()
    history = []
    for offset, (snapshot, expected_mrr, expected_movement) in enumerate(SCRIPT):
        day = DAY_1 + timedelta(days=offset)
        current = _account_mrr(snapshot, day)
        assert current["mrr_minor"].tolist() == [expected_mrr]
        moves = mrr_movements(previous, current, ever_paid, key="account_id", value="mrr_minor")
        assert moves["movement"].tolist() == [expected_movement], day
        ever_paid |= set(current.loc[current["mrr_minor"] > 0, "account_id"])
        history.append(current.assign(day=pd.Timestamp(day))[["day", "account_id", "mrr_minor"]])
        previous = current

    daily = pd.concat(history, ignore_index=True)
    replayed = history_movements(daily, key="account_id")
    assert replayed["movement"].tolist() == [movement for *_, movement in SCRIPT]
    assert replayed["mrr_delta"].tolist() == [5000, 2000, -1000, -6000, 6000]
    last = last_mrr_movement(replayed, key="account_id")
    assert last.loc["acc_1"].tolist() == ["reactivation", pd.Timestamp(DAY_1 + timedelta(days=4))]


def test_absent_means_zero_and_unchanged_stays_quiet() -> None:
    previous = pd.DataFrame({"customer_id": ["a", "b", "c"], "reporting_mrr_minor": [100, 0, 50]})
    current = pd.DataFrame({"customer_id": ["a", "b", "d"], "reporting_mrr_minor": [100, 0, 70]})
    moves = mrr_movements(previous, current, ever_paid={"d"}).set_index("customer_id")
    assert moves["movement"].to_dict() == {"a": "unchanged", "b": "unchanged", "c": "churn", "d": "reactivation"}
    assert moves.at["c", "mrr_after"] == 0


def test_mrr_change_30d() -> None:
    history = pd.DataFrame(
        {
            "day": pd.to_datetime(["2026-10-01", "2026-10-31", "2026-10-31", "2026-10-01"]),
            "customer_id": ["a", "a", "b", "c"],
            "mrr_minor": [1000, 1500, 700, 300],
        }
    )
    change = mrr_change_30d(history, date(2026, 10, 31))
    assert change.to_dict() == {"a": 500, "b": 700, "c": -300}  # 1500-1000, 700-0, 0-300


def test_history_gaps_count_as_zero() -> None:
    history = pd.DataFrame(
        {"day": pd.to_datetime(["2026-10-01", "2026-10-03"]), "customer_id": ["a", "a"], "mrr_minor": [100, 100]}
    )
    moves = history_movements(history)
    assert moves["movement"].tolist() == ["new", "churn", "reactivation"]  # the missing 2nd = 0


def test_reconstruction_from_snapshot() -> None:
    start = int(datetime(2026, 9, 1, tzinfo=UTC).timestamp())
    trial_end = start + 14 * DAY
    ended = start + 40 * DAY
    subs = [
        sub(item(price(3000)), sid="t", start_date=start, created=start, trial_start=start, trial_end=trial_end),
        sub(item(price(1000)), sid="x", status="canceled", start_date=start, created=start, ended_at=ended),
    ]
    items = subscriptions_frame(subs).frame

    def on(day: date) -> dict[str, int]:
        return revenue_on_day(items, day).frame.set_index("customer_id")["mrr_minor"].to_dict()

    assert on(date(2026, 8, 31)) == {}  # before both started
    assert on(date(2026, 9, 5)) == {"cus_t": 0, "cus_x": 1000}  # t trialing, x active
    assert on(date(2026, 9, 20)) == {"cus_t": 3000, "cus_x": 1000}  # t converted
    assert on(date(2026, 10, 20)) == {"cus_t": 3000, "cus_x": 0}  # x ended on Oct 11
    moment = datetime(2026, 9, 5, tzinfo=UTC).timestamp()
    assert statuses_on(items, moment).tolist() == ["trialing", "active"]
