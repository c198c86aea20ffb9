"""Per-record problems name the subscription and the field, and never sink the other rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from assets.revenue import (
    RevenueError,
    RevenueRecordError,
    RevenueRules,
    mrr_by_subscription,
    revenue_by_account,
    revenue_by_customer,
    subscription_mrr,
    subscriptions_frame,
)
from tests.assets.revenue.test_exact_cases import AS_OF, METERED, coupon, discount, item, price, sub

BAD: list[tuple[dict[str, Any], str]] = [
    (sub(item(price(None, pid="p_tiers", billing_scheme="tiered", tiers_mode="volume"))), "items.data[0].price.tiers"),
    (sub(item(price(100, "fortnight"))), "items.data[0].price.recurring.interval"),
    (
        sub(item(price(100, pid="p_mode", billing_scheme="tiered", tiers_mode="stairs"))),
        "items.data[0].price.tiers_mode",
    ),
    (sub(item(price(None, pid="p_none"))), "items.data[0].price.unit_amount_decimal"),
    (sub(item(price(100, currency="gbp"))), "items.data[0].price.currency"),
    (sub(item(price(100)), discounts=["di_unexpanded"]), "discounts[0]"),
    (sub(item(price(100)), discounts=[discount("co_missing")]), "discounts[0].source.coupon"),
    (
        sub(item(price(100, currency="eur")), currency="eur", discounts=[discount(coupon(amount=5))]),
        "discounts[0].source.coupon.currency",
    ),
    (
        sub(item(price(100, pid="p_tq", transform_quantity={"divide_by": 0, "round": "up"}))),
        "items.data[0].price.transform_quantity.divide_by",
    ),
    (sub(item(price(100) | {"id": None})), "items.data[0].price.id"),
    (sub(item(price(100)), customer=None), "customer"),
    (sub(item(price(100)), currency=None), "currency"),
    (sub(), "items.data"),
]


@pytest.mark.parametrize(("subscription", "field"), BAD, ids=[f for _, f in BAD])
def test_per_row_raises_naming_record_and_field(subscription: dict[str, Any], field: str) -> None:
    with pytest.raises(RevenueRecordError) as raised:
        subscription_mrr(subscription, as_of=AS_OF)
    assert raised.value.error.record == "sub_1"
    assert raised.value.error.field == field


def test_frame_reports_bad_rows_and_keeps_the_rest() -> None:
    bad = [s | {"id": f"bad_{i}"} for i, (s, _) in enumerate(BAD)]
    good = sub(item(price(2000)), sid="good")
    items, errors = subscriptions_frame([*bad, good])
    assert [(e.record, e.field) for e in errors] == [(f"bad_{i}", f) for i, (_, f) in enumerate(BAD)]
    frame, more = mrr_by_subscription(items, as_of=AS_OF)
    assert more == []
    assert frame[["subscription_id", "mrr_minor"]].values.tolist() == [["good", 2000]]


def test_latest_invoice_policy_without_invoice_is_an_error() -> None:
    rules = RevenueRules(metered_policy="latest_invoice")
    subscription = sub(item(price(2000)), item(METERED, None, id="si_metered"), sid="sub_metered")
    with pytest.raises(RevenueRecordError) as raised:
        subscription_mrr(subscription, rules, as_of=AS_OF)
    assert (raised.value.error.record, raised.value.error.field) == ("sub_metered", "latest_invoice")
    items, _ = subscriptions_frame([subscription, sub(item(price(500)), sid="ok")])
    frame, errors = mrr_by_subscription(items, rules, AS_OF)
    assert errors == [
        RevenueError("sub_metered", "latest_invoice", "metered item but the latest invoice is not expanded")
    ]
    assert frame["subscription_id"].tolist() == ["ok"]


def test_missing_rate_is_na_with_an_error_never_zero() -> None:
    subs = [
        sub(item(price(1000, currency="chf")), sid="s_chf", currency="chf", customer="cus_x"),
        sub(item(price(2000)), sid="s_usd", customer="cus_x"),
        sub(item(price(3000)), sid="s_other", customer="cus_y"),
    ]
    per_sub = mrr_by_subscription(subscriptions_frame(subs).frame, as_of=AS_OF).frame
    customers, errors = revenue_by_customer(per_sub)
    assert [(e.record, e.field) for e in errors] == [("s_chf", "currency")]
    by_id = customers.set_index("customer_id")
    assert by_id.at["cus_x", "reporting_mrr_minor"] is pd.NA
    assert by_id.at["cus_x", "mrr_minor"] is pd.NA  # two currencies: reported in usd, unknown
    assert by_id.at["cus_y", "reporting_mrr_minor"] == 3000


def test_unmapped_customer_is_reported_not_guessed() -> None:
    per_sub = mrr_by_subscription(subscriptions_frame([sub(item(price(100)), sid="s1")]).frame, as_of=AS_OF).frame
    accounts, errors = revenue_by_account(per_sub, {})
    assert accounts.empty
    assert errors == [RevenueError("cus_s1", "customer", "Stripe customer has no account")]
