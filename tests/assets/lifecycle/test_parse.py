"""Version-tolerant parsing: every API shape reads as the pinned one."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.lifecycle.parse import (
    SubscriptionView,
    apply_previous,
    invoice_subscription_id,
    normalise_subscription,
)
from assets.lifecycle.valuation import EngineValuation
from assets.revenue import RevenueRules, subscription_mrr
from emulators.stripe import objects
from emulators.stripe.render import in_version, previous_attributes

FIXTURES = Path(__file__).parents[2] / "fixtures" / "stripe_events"
SHAPES = ["2026-10-28.endive", "2025-03-31.basil", "2024-06-20"]


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.mark.parametrize("version", SHAPES)
def test_every_shape_reads_as_the_pinned_one(version: str) -> None:
    pinned = SubscriptionView.from_payload(load("subscription.2026-10-28.endive.json"))
    view = SubscriptionView.from_payload(load(f"subscription.{version}.json"))
    assert view == pinned
    assert view.period_start == 1768435200 and view.period_end == 1771113600
    assert view.items[0].quantity == 2 and view.items[0].price_id == "price_starter_m"
    normalised = view.pinned
    assert "current_period_end" not in normalised and "discount" not in normalised and "plan" not in normalised
    assert [d["source"]["type"] for d in normalised["discounts"]] == ["coupon"]


@pytest.mark.parametrize("version", SHAPES)
def test_mrr_of_every_shape_applies_the_same_discount(version: str) -> None:
    """2 seats x 2000 with 20 % off forever: the singular `discount.coupon` of 2024 counts too."""
    coupon = load("coupon.co_20.json")
    view = SubscriptionView.from_payload(load(f"subscription.{version}.json"))
    mrr = subscription_mrr(view.pinned, coupons={coupon["id"]: coupon})
    assert (mrr.amount_minor, mrr.currency) == (3200, "usd")


@pytest.mark.parametrize("version", SHAPES)
def test_reading_and_valuing_a_subscription_leaves_its_payload_as_it_was(version: str) -> None:
    """Normalisation copies only what it changes, so the payload (today's snapshot, stored after
    collection) must come out of parsing and valuation unchanged."""
    coupon = load("coupon.co_20.json")
    raw = load(f"subscription.{version}.json")
    untouched = copy.deepcopy(raw)
    view = SubscriptionView.from_payload(raw)
    engine = EngineValuation(
        subscriptions=[raw],
        prices={},
        products={},
        coupons={coupon["id"]: coupon},
        rules=RevenueRules(),
        as_of=datetime(2026, 2, 1, tzinfo=UTC),
    )
    assert engine.valuation().mrr(view).amount_minor == 3200
    assert raw == untouched


def test_items_less_legacy_subscription_gets_an_item_from_its_plan() -> None:
    legacy = {
        "id": "sub_old",
        "customer": {"id": "cus_old", "object": "customer"},
        "status": "active",
        "currency": "usd",
        "current_period_start": 100,
        "current_period_end": 200,
        "plan": {
            "id": "gold",
            "object": "plan",
            "amount": 999,
            "currency": "usd",
            "interval": "year",
            "interval_count": 1,
            "usage_type": "licensed",
            "product": "prod_gold",
        },
        "quantity": 3,
    }
    untouched = copy.deepcopy(legacy)
    view = SubscriptionView.from_payload(legacy)
    assert legacy == untouched
    assert view.customer_id == "cus_old"
    assert view.price_ids == {"gold"}
    (item,) = view.items
    assert (item.quantity, item.unit_amount, item.current_period_end, item.product_id) == (3, 999, 200, "prod_gold")
    assert subscription_mrr(view.pinned).amount_minor == 250  # 3 x 999 a year = 249.75 a month


def test_previous_attributes_merge_hashes_and_replace_objects() -> None:
    current = {
        "status": "active",
        "cancellation_details": {"reason": None, "feedback": None, "comment": "kept"},
        "items": {"object": "list", "data": [{"id": "si_new"}], "url": "/u"},
    }
    previous = {
        "status": "trialing",
        "cancellation_details": {"reason": "cancellation_requested"},
        "items": {"object": "list", "data": [{"id": "si_old"}]},
    }
    before = apply_previous(current, previous)
    assert before["status"] == "trialing"
    assert before["cancellation_details"] == {"reason": "cancellation_requested", "feedback": None, "comment": "kept"}
    assert before["items"] == {"object": "list", "data": [{"id": "si_old"}]}
    assert current["status"] == "active"  # not mutated


@pytest.mark.parametrize(
    ("invoice", "expected"),
    [
        ({"parent": {"subscription_details": {"subscription": "sub_1"}}}, "sub_1"),
        ({"parent": None, "subscription": "sub_2"}, "sub_2"),
        ({"subscription": {"id": "sub_3", "object": "subscription"}}, "sub_3"),
        ({"parent": {"type": "quote_details", "quote_details": {"quote": "qt_1"}}}, None),
    ],
)
def test_invoice_subscription_in_every_shape(invoice: dict, expected: str | None) -> None:
    assert invoice_subscription_id(invoice) == expected


# --- properties: the emulator's older-version renderer round-trips through our normaliser ------------------

T = 1_780_000_000
_prices = st.builds(
    lambda n, amount, interval, count, metered: objects.price(
        f"price_{n}",
        created=T,
        product=f"prod_{n}",
        unit_amount=amount,
        interval=interval,
        interval_count=count,
        usage_type="metered" if metered else "licensed",
    ),
    st.integers(0, 9),
    st.integers(0, 10**7),
    st.sampled_from(["day", "week", "month", "year"]),
    st.integers(1, 3),
    st.booleans(),
)


@st.composite
def subscriptions(draw: st.DrawFn) -> tuple[dict, dict]:
    prices = draw(st.lists(_prices, min_size=1, max_size=3, unique_by=lambda p: p["id"]))
    start = draw(st.integers(T, T + 10**7))
    ends = draw(st.lists(st.integers(start + 1, start + 10**8), min_size=len(prices), max_size=len(prices)))
    if len(prices) > 1:  # older versions have one subscription-level period: the earliest end
        ends = [min(ends)] * len(ends)
    items = [
        objects.subscription_item(
            f"si_{i}",
            subscription="sub_p",
            price=p,
            created=T,
            current_period_start=start,
            current_period_end=end,
            quantity=draw(st.integers(0, 500)),
        )
        for i, (p, end) in enumerate(zip(prices, ends, strict=True))
    ]
    coupon = objects.coupon("co_p", created=T, percent_off=draw(st.floats(1, 100)))
    discount = objects.discount("di_p", coupon=coupon, start=T, customer="cus_p", subscription="sub_p")
    sub = objects.subscription(
        "sub_p",
        customer="cus_p",
        items=items,
        created=T,
        status=draw(st.sampled_from(["active", "trialing", "past_due", "canceled", "unpaid", "paused"])),
        cancel_at_period_end=draw(st.booleans()),
        trial_end=draw(st.none() | st.integers(T, T + 10**8)),
        discounts=[discount["id"]] if draw(st.booleans()) else [],
    )
    return sub, {"discount": {"di_p": discount}, "coupon": {"co_p": coupon}}


@settings(max_examples=150, deadline=None)
@given(subscriptions(), st.sampled_from(["2024-06-20", "2025-03-31", "2025-06-30"]))
def test_older_rendering_parses_to_the_same_view(drawn: tuple[dict, dict], version: str) -> None:
    sub, store = drawn
    fetch = lambda kind, id: store.get(kind, {}).get(id)  # noqa: E731
    old = in_version("subscription", json.loads(json.dumps(sub)), version, fetch)
    assert SubscriptionView.from_payload(old) == SubscriptionView.from_payload(sub)
    discounts = normalise_subscription(old)["discounts"]
    assert all(isinstance(d, str) or d["source"]["coupon"] for d in discounts)


@settings(max_examples=150, deadline=None)
@given(subscriptions(), subscriptions())
def test_apply_previous_undoes_the_emulators_previous_attributes(a: tuple[dict, dict], b: tuple[dict, dict]) -> None:
    old, new = a[0], b[0]
    assert apply_previous(new, previous_attributes(old, new)) == old
