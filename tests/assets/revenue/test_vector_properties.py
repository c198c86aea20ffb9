"""Hypothesis properties of the MRR engines (examples are capped to keep the suite fast)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.revenue import RevenueRules, mrr_by_subscription, subscription_mrr, subscriptions_frame, trial_mrr
from tests.assets.revenue.test_exact_cases import AS_OF, DAY, NOW, coupon, discount, item, price, sub, tiered

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

amounts = st.one_of(
    st.integers(0, 10**7).map(str),
    st.decimals(0, 10**5, places=4, allow_nan=False, allow_infinity=False).map(str),
)
intervals = st.sampled_from(["day", "week", "month", "year"])
percents = st.decimals(0, 100, places=2).map(float)


@st.composite
def tier_lists(draw: st.DrawFn, unit_amounts: st.SearchStrategy[str] = amounts) -> list[dict[str, Any]]:
    edges = sorted(draw(st.sets(st.integers(1, 50), min_size=1, max_size=4)))
    flats = st.sampled_from([None, "0", "250"])
    return [
        {"up_to": b, "unit_amount_decimal": draw(unit_amounts), "flat_amount_decimal": draw(flats)}
        for b in [*edges, None]
    ]


@st.composite
def prices(draw: st.DrawFn, currency: str) -> dict[str, Any]:
    interval, count = draw(intervals), draw(st.integers(1, 3))
    recurring = {"interval": interval, "interval_count": count, "usage_type": "licensed"}
    key = draw(st.uuids()).hex  # distinct ids: the flattener caches prices by id
    kind = draw(st.sampled_from(["per_unit", "pack", "volume", "graduated"]))
    if kind in ("volume", "graduated"):
        return tiered(kind, draw(tier_lists()), f"price_{key}", currency=currency, recurring=recurring)
    transform = {"divide_by": draw(st.integers(1, 12)), "round": draw(st.sampled_from(["up", "down"]))}
    return price(
        draw(amounts),
        interval,
        count,
        currency,
        pid=f"price_{key}",
        transform_quantity=transform if kind == "pack" else None,
    )


@st.composite
def discounts(draw: st.DrawFn) -> dict[str, Any]:
    duration = draw(st.sampled_from(["forever", "repeating", "once"]))
    if draw(st.booleans()):
        chosen = coupon(duration, percent=draw(percents))
    else:
        chosen = coupon(duration, amount=draw(st.integers(1, 50_000)))
    return discount(chosen, start=NOW - draw(st.integers(0, 60)) * DAY, end=NOW + draw(st.integers(-30, 30)) * DAY)


@st.composite
def subscriptions(draw: st.DrawFn, sid: str = "sub_1") -> dict[str, Any]:
    n_items = draw(st.integers(1, 3))
    items = []
    for index in range(n_items):
        own = draw(st.lists(discounts(), max_size=1))
        items.append(item(draw(prices("usd")), draw(st.integers(0, 60)), id=f"si_{sid}_{index}", discounts=own))
    status = draw(st.sampled_from(["active", "past_due", "trialing", "canceled", "unpaid"]))
    return sub(*items, sid=sid, status=status, discounts=draw(st.lists(discounts(), max_size=2)))


conventions = st.sampled_from(["forever_and_repeating", "forever_only", "all_active"])


@FAST
@given(st.lists(subscriptions(), min_size=1, max_size=6), conventions)
def test_vectorised_equals_per_row(subs: list[dict[str, Any]], convention: str) -> None:
    subs = [s | {"id": f"sub_{i}", "customer": f"cus_{i}"} for i, s in enumerate(subs)]
    rules = RevenueRules(discount_convention=convention)
    items, errors = subscriptions_frame(subs)
    frame, more = mrr_by_subscription(items, rules, AS_OF)
    assert errors == more == []
    for s, mrr, trial in zip(subs, frame["mrr_minor"], frame["trial_mrr_minor"], strict=True):
        assert subscription_mrr(s, rules, as_of=AS_OF).amount_minor == mrr
        assert trial_mrr(s, rules, as_of=AS_OF).amount_minor == trial


@FAST
@given(subscriptions(), conventions)
def test_never_negative(subscription: dict[str, Any], convention: str) -> None:
    rules = RevenueRules(discount_convention=convention)
    assert subscription_mrr(subscription, rules, as_of=AS_OF).amount_minor >= 0
    assert trial_mrr(subscription, rules, as_of=AS_OF).amount_minor >= 0


@FAST
@given(st.integers(0, 10**9))
def test_annual_price_is_a_twelfth(annual: int) -> None:
    got = subscription_mrr(sub(item(price(annual, "year"))), as_of=AS_OF).amount_minor
    assert got == round(Fraction(annual, 12))  # Fraction rounds half to even


@FAST
@given(st.integers(0, 10**6), st.integers(0, 500), st.integers(0, 500))
def test_per_unit_linear_in_quantity(unit: int, q1: int, q2: int) -> None:
    def mrr(quantity: int) -> int:
        return subscription_mrr(sub(item(price(unit), quantity)), as_of=AS_OF).amount_minor

    assert mrr(q1 + q2) == mrr(q1) + mrr(q2) == unit * (q1 + q2)


@FAST
@given(tier_lists(st.integers(0, 10**6).map(str)))
def test_graduated_continuous_at_tier_edges(tiers: list[dict[str, Any]]) -> None:
    """Across each edge MRR moves by exactly one unit price of the tier entered: no jump, no drop."""
    for tier in tiers:
        tier["flat_amount_decimal"] = None
    graduated = tiered("graduated", tiers, "price_grad")

    def mrr(quantity: int) -> int:
        return subscription_mrr(sub(item(graduated, quantity)), as_of=AS_OF).amount_minor

    for index, tier in enumerate(tiers[:-1]):
        edge = tier["up_to"]
        assert mrr(edge) - mrr(edge - 1) == int(tier["unit_amount_decimal"])
        assert mrr(edge + 1) - mrr(edge) == int(tiers[index + 1]["unit_amount_decimal"])
        assert mrr(edge + 1) == _graduated_oracle(tiers, edge + 1)


def _graduated_oracle(tiers: list[dict[str, Any]], quantity: int) -> int:
    """Independent: unit by unit, each priced by the tier it falls in."""
    return sum(
        int(next(t for t in tiers if t["up_to"] is None or n <= t["up_to"])["unit_amount_decimal"])
        for n in range(1, quantity + 1)
    )
