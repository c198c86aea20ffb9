"""What the emulator charges for a subscription period: item amounts, then discounts.

This is the emulator's billing arithmetic, not revsync's MRR math: per_unit and tiered
(volume/graduated) amounts with `transform_quantity`, item discounts before subscription discounts,
rounded half-up to minor units. Metered items bill 0 (the emulator records no usage).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

StripeObject = dict[str, Any]


def _decimal(decimal_string: str | None, integer: int | None) -> Decimal:
    if decimal_string is not None:
        return Decimal(decimal_string)
    return Decimal(integer or 0)


def billed_quantity(price: StripeObject, quantity: int | None) -> int:
    q = quantity or 0
    transform = price.get("transform_quantity")
    if transform:
        divided = q / transform["divide_by"]
        q = math.ceil(divided) if transform["round"] == "up" else math.floor(divided)
    return q


def price_amount(price: StripeObject, quantity: int | None) -> Decimal:
    if (price.get("recurring") or {}).get("usage_type") == "metered":
        return Decimal(0)
    q = billed_quantity(price, quantity)
    if price["billing_scheme"] != "tiered":
        return _decimal(price.get("unit_amount_decimal"), price.get("unit_amount")) * q
    total, below = Decimal(0), 0
    for tier in price.get("tiers") or []:
        cap = tier["up_to"]
        unit = _decimal(tier["unit_amount_decimal"], tier["unit_amount"])
        flat = _decimal(tier["flat_amount_decimal"], tier["flat_amount"])
        if price["tiers_mode"] == "volume":
            if cap is None or q <= cap:
                return unit * q + flat
            continue
        units = (q if cap is None else min(q, cap)) - below
        if units > 0:
            total += unit * units + flat
        if cap is None or q <= cap:
            break
        below = cap
    return total


def apply_discounts(amount: Decimal | int, coupons: Iterable[StripeObject]) -> Decimal:
    amount = Decimal(amount)
    for coupon in coupons:
        if coupon.get("percent_off") is not None:
            amount *= 1 - Decimal(str(coupon["percent_off"])) / 100
        elif coupon.get("amount_off") is not None:
            amount -= coupon["amount_off"]
    return max(amount, Decimal(0))


def to_minor_units(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
