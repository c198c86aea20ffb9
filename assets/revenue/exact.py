"""The exact per-subscription MRR engine.

Inputs are the exact Decimals parsed from Stripe (`unit_amount_decimal`, tier amounts, percent_off);
the arithmetic is rational (`Fraction`), because normalising to a month divides by 12, 52/12 or
365/12, which a Decimal cannot hold exactly. The only rounding is half-even to minor units, once per
subscription, at the end. The vectorised engine defers to this one wherever float precision could
change a rounding decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from fractions import Fraction
from typing import NamedTuple

from assets.revenue.records import ITEM_LEVEL, Discount, ItemRow, RevenueError, RevenueRecordError
from assets.revenue.rules import RevenueRules, discount_counts, is_in, status_counts, transformed_quantity

ZERO = Fraction(0)


class SubscriptionFigures(NamedTuple):
    list_mrr: Fraction  # after discounts, before the status gate, never negative
    mrr_minor: int
    trial_mrr_minor: int


def epoch_seconds(as_of: datetime | None) -> float:
    moment = datetime.now(UTC) if as_of is None else as_of
    if moment.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    return moment.timestamp()


def tiered_amount(row: ItemRow, quantity: int) -> Fraction:
    """volume: the tier holding the quantity prices every unit; graduated: each tier its own share."""
    total = ZERO
    lower = 0
    for tier in row.tiers or ():
        upper = quantity if tier.up_to is None else tier.up_to
        if row.scheme == "volume":
            if lower < quantity <= upper:
                return Fraction(tier.unit) * quantity + Fraction(tier.flat)
        else:
            units = min(quantity, upper) - lower
            if units > 0:
                total += Fraction(tier.unit) * units + Fraction(tier.flat)
        lower = upper
    return total


def period_amount(row: ItemRow, rules: RevenueRules) -> Fraction:
    """The item's amount per billing period, before discounts."""
    if row.metered:
        if rules.metered_policy == "exclude":
            return ZERO
        if row.metered_amount is None:
            raise RevenueRecordError(
                RevenueError(
                    row.subscription_id, "latest_invoice", "metered item but the latest invoice is not expanded"
                )
            )
        return Fraction(row.metered_amount)
    quantity = int(transformed_quantity(row.quantity, row.divide_by, row.round_up))
    if row.scheme == "per_unit":
        return Fraction(row.unit_amount) * quantity
    return tiered_amount(row, quantity)


def monthly_factor(row: ItemRow, rules: RevenueRules) -> Fraction:
    return Fraction(rules.periods_per_year[row.interval], 12 * row.interval_count)


def _percent(value: Fraction, discount: Discount) -> Fraction:
    return value * (100 - Fraction(discount.percent_off)) / 100


def _counting(row: ItemRow, rules: RevenueRules, as_of: float) -> list[Discount]:
    return [
        d for d in row.discounts if discount_counts(d.duration, d.start, d.end, row.current_period_start, as_of, rules)
    ]


def list_mrr(rows: Sequence[ItemRow], rules: RevenueRules, as_of: float) -> Fraction:
    """Monthly amount of one subscription's items after the discounts that count, never negative."""
    factors = [monthly_factor(row, rules) for row in rows]
    monthly: list[Fraction] = []
    subscription_discounts: dict[int, list[tuple[int, Discount]]] = {}
    for index, row in enumerate(rows):
        amount = period_amount(row, rules)
        for discount in _counting(row, rules, as_of):
            if discount.level == ITEM_LEVEL:
                amount = _percent(amount, discount) if discount.amount_off == 0 else amount - discount.amount_off
                amount = max(amount, ZERO)
            else:
                subscription_discounts.setdefault(discount.position, []).append((index, discount))
        monthly.append(amount * factors[index])
    # Subscription discounts after item discounts; amount_off is per invoice, shared pro rata.
    for position in sorted(subscription_discounts):
        holders = subscription_discounts[position]
        if holders[0][1].amount_off == 0:
            for index, discount in holders:
                monthly[index] = _percent(monthly[index], discount)
            continue
        base = sum((monthly[index] / factors[index] for index, _ in holders), ZERO)
        if base == 0:
            continue
        for index, discount in holders:
            share = discount.amount_off * (monthly[index] / factors[index]) / base
            monthly[index] = max(monthly[index] - share * factors[index], ZERO)
    return max(sum(monthly, ZERO), ZERO)


def subscription_figures(rows: Sequence[ItemRow], rules: RevenueRules, as_of: float) -> SubscriptionFigures:
    """MRR (status-gated) and trial MRR of one subscription's rows, rounded half-even once."""
    value = list_mrr(rows, rules, as_of)
    rounded = round(value)  # Fraction rounds half to even
    head = rows[0]
    counts = bool(status_counts(head.status, head.cancel_at_period_end, rules))
    trial = bool(is_in(head.status, rules.trial_statuses))
    return SubscriptionFigures(value, rounded if counts else 0, rounded if trial else 0)
