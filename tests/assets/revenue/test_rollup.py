"""Subscription attributes and the customer/account rollups."""

from __future__ import annotations

import pandas as pd

from assets.revenue import (
    RevenueRules,
    mrr_by_subscription,
    revenue_by_account,
    revenue_by_customer,
    subscriptions_frame,
)
from tests.assets.revenue.test_exact_cases import AS_OF, DAY, NOW, PERIOD_START, item, price, sub

RULES = RevenueRules(fx_rates={"jpy": "0.0067", "eur": "1.08"}, plan_mapping={"price_team": "team"})
SEAT = price(1500, pid="price_seat", metadata={"seats": "true"})
BASE = price(9900, pid="price_pro", product={"id": "prod_pro", "metadata": {"plan": "pro"}})


def _subs(subscriptions: list[dict], rules: RevenueRules = RULES) -> pd.DataFrame:
    return mrr_by_subscription(subscriptions_frame(subscriptions).frame, rules, AS_OF).frame


def test_subscription_attributes() -> None:
    frame = _subs([sub(item(BASE, 1), item(SEAT, 5), sid="s1", cancel_at_period_end=True)]).iloc[0]
    assert frame["mrr_minor"] == 9900 + 5 * 1500
    assert frame["plan"] == "pro"  # product metadata of the largest item (9900 > 7500)
    assert frame["seat_count"] == 5  # the flagged seat price only
    assert frame["plan_interval"] == "month" and frame["plan_interval_count"] == 1
    assert frame["cancel_at_period_end"]
    assert frame["current_period_end_at"] == pd.Timestamp(PERIOD_START + 30 * DAY, unit="s", tz="UTC")


def test_plan_mapping_and_seat_fallback() -> None:
    frame = _subs([sub(item(price(4000, "year", pid="price_team"), 4), sid="s1")]).iloc[0]
    assert frame["plan"] == "team"  # configured mapping by price id
    assert frame["plan_interval"] == "year"
    assert frame["seat_count"] == 4  # no seat item: the licensed quantity


def test_customer_rollup_plan_currency_and_first_paid_day() -> None:
    trial_end = NOW - 100 * DAY
    subs = [
        sub(item(BASE), sid="paid", customer="cus_1", trial_end=trial_end, start_date=NOW - 114 * DAY),
        sub(
            item(price(500, currency="jpy"), 2), sid="yen", customer="cus_1", currency="jpy", start_date=NOW - 50 * DAY
        ),
        sub(item(BASE), sid="trial", customer="cus_2", status="trialing", trial_end=NOW + 3 * DAY),
        sub(item(BASE), sid="gone", customer="cus_3", status="canceled", ended_at=NOW - 5 * DAY),
    ]
    customers, errors = revenue_by_customer(_subs(subs), RULES)
    assert errors == []
    rows = customers.set_index("customer_id")
    # cus_1: two currencies, so mrr is in usd: 9900 + 1000 yen x 0.0067 (= 670 cents) = 10570
    assert rows.loc["cus_1", ["mrr_minor", "mrr_currency", "arr_minor"]].tolist() == [10570, "usd", 126840]
    assert rows.at["cus_1", "plan"] == "pro"
    assert rows.at["cus_1", "customer_since"] == pd.Timestamp(trial_end, unit="s", tz="UTC")
    # cus_2 trialing: no MRR, free plan, trial_mrr at conversion
    assert rows.loc["cus_2", ["mrr_minor", "trial_mrr_minor", "plan", "subscription_status"]].tolist() == [
        0,
        9900,
        "free",
        "trialing",
    ]
    assert pd.isna(rows.at["cus_2", "customer_since"])
    # cus_3 churned: free now, but it was paid from its start
    assert rows.loc["cus_3", ["mrr_minor", "plan", "seat_count"]].tolist() == [0, "free", 0]
    assert not pd.isna(rows.at["cus_3", "customer_since"])


def test_account_rollup_sums_customers_in_one_currency() -> None:
    subs = [
        sub(item(price(1000, currency="eur")), sid="a", customer="cus_a", currency="eur"),
        sub(item(price(2500, currency="eur")), sid="b", customer="cus_b", currency="eur"),
    ]
    accounts, errors = revenue_by_account(_subs(subs), {"cus_a": "acc", "cus_b": "acc"}, RULES)
    row = accounts.iloc[0]
    assert errors == []
    assert (row["account_id"], row["mrr_minor"], row["mrr_currency"]) == ("acc", 3500, "eur")
    assert row["reporting_mrr_minor"] == 3780  # 35.00 eur x 1.08 = 37.80 usd
