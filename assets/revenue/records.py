"""The revenue records and their field parsers: what both revenue engines read from Stripe.

A subscription becomes one `ItemRow` per item (assets/revenue/flatten.py), carrying what the MRR
rules need: subscription fields, the item's quantity and period, its parsed price (`parse_price`,
amounts as exact Decimals) and every discount that applies to it (`parse_discount`). Problems are
raised as `RevenueRecordError` naming the subscription and the field; `subscriptions_frame` collects
them per subscription instead of failing the whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from assets.revenue.rules import DEFAULT_PERIODS_PER_YEAR

NAN = float("nan")


@dataclass(frozen=True)
class RevenueError:
    """One per-record problem: the record's id, the offending field path and what is wrong."""

    record: str
    field: str
    message: str


class RevenueRecordError(ValueError):
    def __init__(self, error: RevenueError) -> None:
        super().__init__(f"{error.record}: {error.field}: {error.message}")
        self.error = error


class FieldError(Exception):
    """A problem in a nested object, before the subscription id and path prefix are known."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Tier(NamedTuple):
    up_to: int | None  # None = the open-ended last tier
    unit: Decimal
    flat: Decimal


class Discount(NamedTuple):
    level: int  # ITEM_LEVEL or SUBSCRIPTION_LEVEL; item discounts apply first
    position: int  # index in its `discounts` list: the order of application
    percent_off: Decimal  # 0 when the coupon is amount_off
    amount_off: int  # minor units of the subscription currency, per billing period; 0 for percent
    duration: str
    start: float
    end: float


ITEM_LEVEL = 0
SUBSCRIPTION_LEVEL = 1


class PriceFields(NamedTuple):
    price_id: str
    product_id: str
    lookup_key: str | None
    price_metadata: Mapping[str, str]
    product_metadata: Mapping[str, str]
    metered: bool
    interval: str
    interval_count: int
    scheme: str  # per_unit | volume | graduated
    unit_amount: Decimal
    divide_by: int  # 1 when there is no transform_quantity
    round_up: bool
    tiers: tuple[Tier, ...] | None


class ItemRow(NamedTuple):
    subscription_id: str
    customer_id: str
    status: str
    currency: str
    cancel_at_period_end: bool
    created: float  # epoch seconds, NaN when absent
    start_date: float
    trial_start: float
    trial_end: float
    canceled_at: float
    ended_at: float
    paused_at: float
    item_id: str
    quantity: int
    current_period_start: float
    current_period_end: float
    discounts: tuple[Discount, ...]
    metered_amount: Decimal | None  # this item's amount on the expanded latest invoice
    price_id: str
    product_id: str
    lookup_key: str | None
    price_metadata: Mapping[str, str]
    product_metadata: Mapping[str, str]
    metered: bool
    interval: str
    interval_count: int
    scheme: str
    unit_amount: Decimal
    divide_by: int
    round_up: bool
    tiers: tuple[Tier, ...] | None


ITEM_COLUMNS: tuple[str, ...] = ItemRow._fields
_EMPTY: Mapping[str, str] = {}


def epoch_seconds(value: Any) -> float:
    return NAN if value is None else float(value)


def _decimal(value: Any, field: str) -> Decimal:
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise FieldError(field, f"not a number: {value!r}") from None
    if not parsed.is_finite():
        raise FieldError(field, f"not a finite number: {value!r}")
    return parsed


def _amount(obj: Mapping[str, Any], name: str, field: str) -> Decimal | None:
    """`<name>_decimal` (exact) or `<name>` (int); None when both are absent."""
    exact = obj.get(f"{name}_decimal")
    if exact is not None:
        return _decimal(exact, f"{field}.{name}_decimal")
    whole = obj.get(name)
    return None if whole is None else _decimal(whole, f"{field}.{name}")


def _tiers(raw: Any, field: str) -> tuple[Tier, ...]:
    if not raw:
        raise FieldError(field, "tiered price without tiers: list prices with expand data.tiers and attach them")
    tiers: list[Tier] = []
    previous = 0
    for index, tier in enumerate(raw):
        path = f"{field}[{index}]"
        up_to = tier.get("up_to")
        if up_to == "inf":
            up_to = None
        if up_to is not None and (int(up_to) <= previous or index == len(raw) - 1):
            raise FieldError(f"{path}.up_to", "tiers must ascend and end with an open (null) tier")
        if up_to is None and index != len(raw) - 1:
            raise FieldError(f"{path}.up_to", "only the last tier may be open-ended")
        unit = _amount(tier, "unit_amount", path) or Decimal(0)
        flat = _amount(tier, "flat_amount", path) or Decimal(0)
        tiers.append(Tier(None if up_to is None else int(up_to), unit, flat))
        previous = 0 if up_to is None else int(up_to)
    return tuple(tiers)


def parse_price(price: Any, currency: str) -> PriceFields:
    """The MRR-relevant fields of a price, in the subscription's currency."""
    if not isinstance(price, dict):
        raise FieldError("price", "missing price object")
    if not price.get("id"):
        # Every Stripe price has an id, and the vectorised path reads a price's fields once per id.
        raise FieldError("price.id", "price without an id")
    amounts: Mapping[str, Any] = price
    amounts_field = "price"
    if price.get("currency") != currency:
        options = (price.get("currency_options") or {}).get(currency)
        if options is None:
            raise FieldError("price.currency", f"price is in {price.get('currency')!r}, subscription in {currency!r}")
        amounts, amounts_field = options, f"price.currency_options.{currency}"
    recurring = price.get("recurring")
    if not isinstance(recurring, dict):
        raise FieldError("price.recurring", "not a recurring price")
    interval = recurring.get("interval")
    if not isinstance(interval, str) or interval not in DEFAULT_PERIODS_PER_YEAR:
        raise FieldError("price.recurring.interval", f"unknown interval {interval!r}")
    interval_count = recurring.get("interval_count") or 1
    if not isinstance(interval_count, int) or interval_count < 1:
        raise FieldError("price.recurring.interval_count", f"must be a positive integer, got {interval_count!r}")
    metered = recurring.get("usage_type") == "metered"

    billing_scheme = price.get("billing_scheme") or "per_unit"
    tiers = None
    unit_amount = Decimal(0)
    if billing_scheme == "tiered":
        scheme = price.get("tiers_mode")
        if scheme not in ("volume", "graduated"):
            raise FieldError("price.tiers_mode", f"unknown tiers_mode {scheme!r}")
        tiers = _tiers(amounts.get("tiers"), f"{amounts_field}.tiers")
    elif billing_scheme == "per_unit":
        scheme = "per_unit"
        parsed = _amount(amounts, "unit_amount", amounts_field)
        if parsed is None and not metered:
            raise FieldError(f"{amounts_field}.unit_amount_decimal", "per-unit price without a unit amount")
        unit_amount = parsed or Decimal(0)
    else:
        raise FieldError("price.billing_scheme", f"unknown billing_scheme {billing_scheme!r}")

    divide_by, round_up = 1, False
    transform = price.get("transform_quantity")
    if transform:
        divide_by = transform.get("divide_by")
        if not isinstance(divide_by, int) or divide_by < 1:
            raise FieldError("price.transform_quantity.divide_by", f"must be a positive integer, got {divide_by!r}")
        if transform.get("round") not in ("up", "down"):
            raise FieldError("price.transform_quantity.round", f"must be up or down, got {transform.get('round')!r}")
        round_up = transform["round"] == "up"

    product = price.get("product")
    if isinstance(product, dict):
        product_id, product_metadata = product.get("id") or "", product.get("metadata") or _EMPTY
    else:
        product_id, product_metadata = product or "", _EMPTY
    return PriceFields(
        price.get("id") or "",
        product_id,
        price.get("lookup_key"),
        price.get("metadata") or _EMPTY,
        product_metadata,
        metered,
        interval,
        interval_count,
        scheme,
        unit_amount,
        divide_by,
        round_up,
        tiers,
    )


def _coupon(discount: Any, coupons: Mapping[str, Mapping[str, Any]], field: str) -> Mapping[str, Any]:
    if not isinstance(discount, dict):
        raise FieldError(field, "discount not expanded: list subscriptions with expand data.discounts")
    source = discount.get("source") or {}
    coupon = source.get("coupon", discount.get("coupon"))  # clover+ shape, then the pre-clover one
    if isinstance(coupon, str):
        found = coupons.get(coupon)
        if found is None:
            raise FieldError(f"{field}.source.coupon", f"coupon {coupon!r} is not expanded nor in the coupon list")
        return found
    if not isinstance(coupon, dict):
        raise FieldError(f"{field}.source.coupon", "discount without a coupon")
    return coupon


def parse_discount(
    discount: Any, coupons: Mapping[str, Mapping[str, Any]], currency: str, level: int, position: int, field: str
) -> tuple[Discount, frozenset[str] | None]:
    """The discount and the products it is restricted to (None = every item)."""
    coupon = _coupon(discount, coupons, field)
    percent = coupon.get("percent_off")
    amount_off = 0
    if percent is None:
        if coupon.get("currency") == currency:
            raw_amount = coupon.get("amount_off")
        else:
            raw_amount = ((coupon.get("currency_options") or {}).get(currency) or {}).get("amount_off")
        if raw_amount is None:
            raise FieldError(
                f"{field}.source.coupon.currency",
                f"amount_off coupon in {coupon.get('currency')!r} has no amount in {currency!r}",
            )
        amount_off = int(raw_amount)
    duration = coupon.get("duration")
    if duration not in ("forever", "repeating", "once"):
        raise FieldError(f"{field}.source.coupon.duration", f"unknown duration {duration!r}")
    applies_to = (coupon.get("applies_to") or {}).get("products")
    parsed = Discount(
        level,
        position,
        Decimal(0) if percent is None else _decimal(percent, f"{field}.source.coupon.percent_off"),
        amount_off,
        duration,
        epoch_seconds(discount.get("start")),
        epoch_seconds(discount.get("end")),
    )
    return parsed, None if applies_to is None else frozenset(applies_to)


def latest_invoice_amounts(invoice: Any) -> dict[str, Decimal] | None:
    """Latest-invoice line amounts keyed by subscription item id and by price id (None = not expanded)."""
    if not isinstance(invoice, dict):
        return None
    amounts: dict[str, Decimal] = {}
    for line in (invoice.get("lines") or {}).get("data") or []:
        parent = (line.get("parent") or {}).get("subscription_item_details") or {}
        price = (line.get("pricing") or {}).get("price_details") or {}
        legacy_price = line.get("price") or {}
        keys = {parent.get("subscription_item"), line.get("subscription_item")}
        keys |= {price.get("price"), legacy_price.get("id") if isinstance(legacy_price, dict) else None}
        for key in keys - {None}:
            amounts[key] = amounts.get(key, Decimal(0)) + Decimal(line.get("amount") or 0)
    return amounts
