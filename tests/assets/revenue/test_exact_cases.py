"""Hand-computed MRR cases, one per rule; each is checked on the per-row and the vectorised path.

Amounts are minor units. `# a x b = c` comments show the arithmetic; ties round half-even.
The builders here are shared by the other revenue test modules.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from assets.revenue import RevenueRules, mrr_by_subscription, subscription_mrr, subscriptions_frame, trial_mrr

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
NOW = int(AS_OF.timestamp())
DAY = 86_400
PERIOD_START = NOW - 10 * DAY


def price(
    amount: str | int | None = 2000,
    interval: str = "month",
    count: int = 1,
    currency: str = "usd",
    pid: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    # Price ids are unique per Stripe account (the flattener caches by id): derive one from the shape.
    pid = pid or f"price_{amount}_{interval}_{count}_{currency}_{zlib.crc32(repr(sorted(fields.items())).encode())}"
    base: dict[str, Any] = {
        "id": pid,
        "object": "price",
        "currency": currency,
        "billing_scheme": "per_unit",
        "unit_amount_decimal": None if amount is None else str(amount),
        "product": f"prod_{pid}",
        "metadata": {},
        "lookup_key": None,
        "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"},
        "transform_quantity": None,
    }
    return base | fields


def tiered(mode: str, tiers: list[dict[str, Any]], pid: str, **fields: Any) -> dict[str, Any]:
    return price(None, pid=pid, billing_scheme="tiered", tiers_mode=mode, tiers=tiers, **fields)


def coupon(duration: str = "forever", percent: float | None = None, amount: int | None = None, **fields: Any):
    base = {
        "id": f"co_{duration}_{percent}_{amount}",
        "duration": duration,
        "percent_off": percent,
        "amount_off": amount,
    }
    return base | ({"currency": "usd"} if amount is not None else {}) | fields


def discount(coupon_obj: dict[str, Any] | str, start: int = NOW - 40 * DAY, end: int | None = None) -> dict[str, Any]:
    return {"id": "di_x", "source": {"type": "coupon", "coupon": coupon_obj}, "start": start, "end": end}


def item(price_obj: dict[str, Any], quantity: int | None = 1, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"si_{price_obj['id']}",
        "price": price_obj,
        "quantity": quantity,
        "current_period_start": PERIOD_START,
        "current_period_end": PERIOD_START + 30 * DAY,
        "discounts": [],
    } | fields


def sub(*items: dict[str, Any], sid: str = "sub_1", status: str = "active", currency: str = "usd", **fields: Any):
    return {
        "id": sid,
        "object": "subscription",
        "customer": f"cus_{sid}",
        "status": status,
        "currency": currency,
        "cancel_at_period_end": False,
        "created": NOW - 400 * DAY,
        "start_date": NOW - 400 * DAY,
        "trial_start": None,
        "trial_end": None,
        "canceled_at": None,
        "ended_at": None,
        "discounts": [],
        "items": {"object": "list", "data": list(items)},
    } | fields


GRAD = [  # the reference's worked tiers: <= 5 at 1000/unit, then 500/unit + flat 2000
    {"up_to": 5, "unit_amount_decimal": "1000", "flat_amount_decimal": None},
    {"up_to": None, "unit_amount_decimal": "500", "flat_amount_decimal": "2000"},
]
THREE = [
    {"up_to": 5, "unit_amount": 1000, "flat_amount": None},
    {"up_to": 20, "unit_amount_decimal": "750.5", "flat_amount_decimal": "2000"},
    {"up_to": None, "unit_amount_decimal": "500", "flat_amount_decimal": "5000"},
]
PACK = {"divide_by": 10, "round": "up"}
RUNNING = NOW + 30 * DAY  # a repeating discount's end still ahead
ENDED = NOW - DAY
COUPONS = {"co_listed": {"id": "co_listed", "duration": "forever", "percent_off": 25.0}}
EUR_OFF = coupon(amount=1000, currency_options={"eur": {"amount_off": 900}})
METERED = price(7, pid="price_metered", recurring={"interval": "month", "interval_count": 1, "usage_type": "metered"})
INVOICE = {
    "object": "invoice",
    "lines": {"data": [{"amount": 4321, "parent": {"subscription_item_details": {"subscription_item": "si_metered"}}}]},
}
DEFAULT = RevenueRules()

# (id, subscription, rules, expected mrr, expected trial mrr)
CASES: list[tuple[str, dict[str, Any], RevenueRules, int, int]] = [
    # --- per-unit and normalisation to a month ---
    ("monthly", sub(item(price(2000))), DEFAULT, 2000, 0),  # 2000 x 1
    ("annual_seats", sub(item(price(12000, "year"), 3)), DEFAULT, 3000, 0),  # 3 x 12000 / 12
    ("quarterly", sub(item(price(3000, "month", 3))), DEFAULT, 1000, 0),  # 3000 / 3
    ("weekly", sub(item(price(1000, "week"))), DEFAULT, 4333, 0),  # 1000 x 52/12 = 4333.33
    ("biweekly", sub(item(price(1000, "week", 2))), DEFAULT, 2167, 0),  # 1000 x 52/12 / 2 = 2166.67
    ("daily", sub(item(price(100, "day"))), DEFAULT, 3042, 0),  # 100 x 365/12 = 3041.67
    ("every_7_days", sub(item(price(70, "day", 7))), DEFAULT, 304, 0),  # 70 x 365/12 / 7 = 304.17
    ("biennial", sub(item(price(24000, "year", 2))), DEFAULT, 1000, 0),  # 24000 / (12 x 2)
    ("sub_cent_unit", sub(item(price("0.5"), 1000)), DEFAULT, 500, 0),  # 0.5 x 1000
    ("twelve_dp", sub(item(price("1.234567890123"), 1000)), DEFAULT, 1235, 0),  # 1234.567890123
    ("tie_to_even_down", sub(item(price(30, "year"))), DEFAULT, 2, 0),  # 30 / 12 = 2.5 -> 2
    ("tie_to_even_up", sub(item(price(42, "year"))), DEFAULT, 4, 0),  # 42 / 12 = 3.5 -> 4
    # two items of 6/year: 0.5 + 0.5 = 1.0 -> 1 (rounding per item would give 0 + 0)
    ("round_once", sub(item(price(6, "year")), item(price(6, "year", pid="p6b"))), DEFAULT, 1, 0),
    ("unit_amount_int", sub(item(price(None, unit_amount=999))), DEFAULT, 999, 0),  # no _decimal: 999
    ("quantity_zero", sub(item(price(2000), 0)), DEFAULT, 0, 0),  # 2000 x 0
    ("pack_round_up", sub(item(price(5000, transform_quantity=PACK), 11)), DEFAULT, 10000, 0),  # ceil(11/10)=2 x 5000
    ("pack_round_down", sub(item(price(5000, transform_quantity=PACK | {"round": "down"}), 11)), DEFAULT, 5000, 0),
    ("pack_exact", sub(item(price(5000, transform_quantity=PACK), 10)), DEFAULT, 5000, 0),  # ceil(10/10)=1 x 5000
    # --- tiers ---
    ("graduated_8", sub(item(tiered("graduated", GRAD, "pg"), 8)), DEFAULT, 8500, 0),  # 5x1000 + 3x500 + 2000
    ("volume_8", sub(item(tiered("volume", GRAD, "pv"), 8)), DEFAULT, 6000, 0),  # 8 x 500 + 2000
    ("volume_5", sub(item(tiered("volume", GRAD, "pv"), 5)), DEFAULT, 5000, 0),  # 5 x 1000
    ("graduated_5", sub(item(tiered("graduated", GRAD, "pg"), 5)), DEFAULT, 5000, 0),  # 5 x 1000, tier 2 not entered
    (
        "graduated_flat_first",  # 0 x 10 + 5000 flat, then 2 x 400 = 5800
        sub(
            item(
                tiered("graduated", [{"up_to": 10, "flat_amount": 5000}, {"up_to": None, "unit_amount": 400}], "pf"), 12
            )
        ),
        DEFAULT,
        5800,
        0,
    ),
    (
        "volume_annual",  # (8 x 500 + 2000) / 12 = 500
        sub(item(tiered("volume", GRAD, "pva", recurring={"interval": "year", "interval_count": 1}), 8)),
        DEFAULT,
        500,
        0,
    ),
    # 5 x 1000 + (15 x 750.5 + 2000) + (5 x 500 + 5000) = 25757.5 -> 25758 (even)
    ("graduated_three", sub(item(tiered("graduated", THREE, "p3"), 25)), DEFAULT, 25758, 0),
    ("volume_three", sub(item(tiered("volume", THREE, "p3v"), 25)), DEFAULT, 17500, 0),  # 25 x 500 + 5000
    # --- metered ---
    ("metered_excluded", sub(item(price(2000)), item(METERED, None, id="si_metered")), DEFAULT, 2000, 0),  # 2000 + 0
    (
        "metered_from_invoice",  # 2000 + 4321 (latest invoice line for the item)
        sub(item(price(2000)), item(METERED, None, id="si_metered"), latest_invoice=INVOICE),
        RevenueRules(metered_policy="latest_invoice"),
        6321,
        0,
    ),
    # --- discounts ---
    ("pct_forever", sub(item(price(10000)), discounts=[discount(coupon(percent=20.0))]), DEFAULT, 8000, 0),  # x 0.8
    ("pct_fraction", sub(item(price(10000)), discounts=[discount(coupon(percent=15.5))]), DEFAULT, 8450, 0),  # x .845
    (
        "repeating_running",  # 10000 x 0.5
        sub(item(price(10000)), discounts=[discount(coupon("repeating", 50.0), end=RUNNING)]),
        DEFAULT,
        5000,
        0,
    ),
    (
        "repeating_ended",  # ended: 10000
        sub(item(price(10000)), discounts=[discount(coupon("repeating", 50.0), end=ENDED)]),
        DEFAULT,
        10000,
        0,
    ),
    ("once_default", sub(item(price(10000)), discounts=[discount(coupon("once", 50.0))]), DEFAULT, 10000, 0),
    (
        "forever_only_ignores_repeating",  # Stripe's old default: 10000
        sub(item(price(10000)), discounts=[discount(coupon("repeating", 50.0), end=RUNNING)]),
        RevenueRules(discount_convention="forever_only"),
        10000,
        0,
    ),
    (
        "all_active_once_this_period",  # applied after the period started: 10000 x 0.5
        sub(item(price(10000)), discounts=[discount(coupon("once", 50.0), start=PERIOD_START + DAY)]),
        RevenueRules(discount_convention="all_active"),
        5000,
        0,
    ),
    (
        "all_active_once_past_period",  # applied before this period: 10000
        sub(item(price(10000)), discounts=[discount(coupon("once", 50.0), start=PERIOD_START - DAY)]),
        RevenueRules(discount_convention="all_active"),
        10000,
        0,
    ),
    ("amount_off", sub(item(price(5000)), discounts=[discount(coupon(amount=1000))]), DEFAULT, 4000, 0),  # 5000 - 1000
    (
        "amount_off_annual",  # (120000 - 12000) / 12 = 9000
        sub(item(price(120000, "year")), discounts=[discount(coupon(amount=12000))]),
        DEFAULT,
        9000,
        0,
    ),
    (
        "amount_off_floor",
        sub(item(price(500)), discounts=[discount(coupon(amount=1000))]),
        DEFAULT,
        0,
        0,
    ),  # max(0, -500)
    (
        "amount_off_currency_option",  # eur sub, usd coupon with eur option 900: 5000 - 900
        sub(item(price(5000, currency="eur")), currency="eur", discounts=[discount(EUR_OFF)]),
        DEFAULT,
        4100,
        0,
    ),
    (
        "item_before_subscription",  # (10000 - 2000) x 0.5 = 4000
        sub(item(price(10000), discounts=[discount(coupon(amount=2000))]), discounts=[discount(coupon(percent=50.0))]),
        DEFAULT,
        4000,
        0,
    ),
    (
        "amount_off_pro_rata",  # 3000 + 1000 - 2000 (split 1500/500 across the items) = 2000
        sub(item(price(3000)), item(price(1000)), discounts=[discount(coupon(amount=2000))]),
        DEFAULT,
        2000,
        0,
    ),
    (
        "amount_off_mixed_intervals",  # base 1000 + 12000; shares 100/mo and 1200/yr: 1000 + 1000 - 100 - 100
        sub(item(price(1000)), item(price(12000, "year")), discounts=[discount(coupon(amount=1300))]),
        DEFAULT,
        1800,
        0,
    ),
    (
        "applies_to_products",  # only prod_pa: 2000 x 0.5 + 1000
        sub(
            item(price(2000, pid="pa")),
            item(price(1000, pid="pb")),
            discounts=[discount(coupon(percent=50.0, applies_to={"products": ["prod_pa"]}))],
        ),
        DEFAULT,
        2000,
        0,
    ),
    ("coupon_by_id", sub(item(price(4000)), discounts=[discount("co_listed")]), DEFAULT, 3000, 0),  # 4000 x 0.75
    ("hundred_percent", sub(item(price(4000)), discounts=[discount(coupon(percent=100.0))]), DEFAULT, 0, 0),  # x 0
    (
        "stacked_percents",  # 10000 x 0.5 x 0.9
        sub(item(price(10000)), discounts=[discount(coupon(percent=50.0)), discount(coupon(percent=10.0))]),
        DEFAULT,
        4500,
        0,
    ),
    # --- status ---
    ("past_due", sub(item(price(2000)), status="past_due"), DEFAULT, 2000, 0),
    ("cancel_at_period_end", sub(item(price(2000)), cancel_at_period_end=True), DEFAULT, 2000, 0),
    (
        "committed_mrr",
        sub(item(price(2000)), cancel_at_period_end=True),
        RevenueRules(count_cancel_at_period_end=False),
        0,
        0,
    ),
    ("trialing", sub(item(price(2000)), status="trialing", trial_end=NOW + 5 * DAY), DEFAULT, 0, 2000),
    *(
        (status, sub(item(price(2000)), status=status), DEFAULT, 0, 0)
        for status in ("unpaid", "paused", "canceled", "incomplete", "incomplete_expired")
    ),
    # --- currencies ---
    ("jpy_zero_decimal", sub(item(price(500, currency="jpy"), 2), currency="jpy"), DEFAULT, 1000, 0),  # 500 x 2 yen
    ("krw_annual", sub(item(price(120000, "year", currency="krw")), currency="krw"), DEFAULT, 10000, 0),  # / 12
    ("kwd_three_decimal", sub(item(price(12345, currency="kwd")), currency="kwd"), DEFAULT, 12345, 0),  # fils
    (
        "currency_options_price",  # usd price, eur option 1800: eur subscription pays 1800
        sub(item(price(2000, currency_options={"eur": {"unit_amount_decimal": "1800"}})), currency="eur"),
        DEFAULT,
        1800,
        0,
    ),
]


def test_enough_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(("subscription", "rules", "mrr", "trial"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_per_row(subscription: dict[str, Any], rules: RevenueRules, mrr: int, trial: int) -> None:
    got = subscription_mrr(subscription, rules, as_of=AS_OF, coupons=COUPONS)
    assert got.amount_minor == mrr
    assert got.currency == subscription["currency"]
    assert trial_mrr(subscription, rules, as_of=AS_OF, coupons=COUPONS).amount_minor == trial


def test_vectorised_on_all_cases() -> None:
    """All cases in one frame per rules object: the frame path gives the same integers."""
    for rules in {id(c[2]): c[2] for c in CASES}.values():
        cases = [c for c in CASES if c[2] is rules]
        subs = [s | {"id": name} for name, s, *_ in cases]
        items, errors = subscriptions_frame(subs, COUPONS)
        frame, more = mrr_by_subscription(items, rules, AS_OF)
        assert errors == more == []
        got = frame.set_index("subscription_id")
        for name, _, _, mrr, trial in cases:
            assert (got.at[name, "mrr_minor"], got.at[name, "trial_mrr_minor"]) == (mrr, trial), name


def test_periods_per_year_switch() -> None:
    # 30-day months for daily prices: 100 x 360/12 = 3000
    rules = replace(DEFAULT, periods_per_year={"day": 360, "week": 52, "month": 12, "year": 1})
    assert subscription_mrr(sub(item(price(100, "day"))), rules, as_of=AS_OF).amount_minor == 3000
