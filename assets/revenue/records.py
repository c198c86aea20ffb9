"""Flattening Stripe subscription dicts into item rows: the one parser both revenue engines use.

A subscription becomes one `ItemRow` per item, carrying what the MRR rules need: subscription fields,
the item's quantity and period, its parsed price (amounts as exact Decimals) and every discount that
applies to it. Problems are raised as `RevenueRecordError` naming the subscription and the field;
`subscriptions_frame` collects them per subscription instead of failing the whole batch.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

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


class _FieldError(Exception):
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


def _time(value: Any) -> float:
    return NAN if value is None else float(value)


def _decimal(value: Any, field: str) -> Decimal:
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise _FieldError(field, f"not a number: {value!r}") from None
    if not parsed.is_finite():
        raise _FieldError(field, f"not a finite number: {value!r}")
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
        raise _FieldError(field, "tiered price without tiers: list prices with expand data.tiers and attach them")
    tiers: list[Tier] = []
    previous = 0
    for index, tier in enumerate(raw):
        path = f"{field}[{index}]"
        up_to = tier.get("up_to")
        if up_to == "inf":
            up_to = None
        if up_to is not None and (int(up_to) <= previous or index == len(raw) - 1):
            raise _FieldError(f"{path}.up_to", "tiers must ascend and end with an open (null) tier")
        if up_to is None and index != len(raw) - 1:
            raise _FieldError(f"{path}.up_to", "only the last tier may be open-ended")
        unit = _amount(tier, "unit_amount", path) or Decimal(0)
        flat = _amount(tier, "flat_amount", path) or Decimal(0)
        tiers.append(Tier(None if up_to is None else int(up_to), unit, flat))
        previous = 0 if up_to is None else int(up_to)
    return tuple(tiers)


def parse_price(price: Any, currency: str) -> PriceFields:
    """The MRR-relevant fields of a price, in the subscription's currency."""
    if not isinstance(price, dict):
        raise _FieldError("price", "missing price object")
    if not price.get("id"):
        # Every Stripe price has an id, and the vectorised path reads a price's fields once per id.
        raise _FieldError("price.id", "price without an id")
    amounts: Mapping[str, Any] = price
    amounts_field = "price"
    if price.get("currency") != currency:
        options = (price.get("currency_options") or {}).get(currency)
        if options is None:
            raise _FieldError("price.currency", f"price is in {price.get('currency')!r}, subscription in {currency!r}")
        amounts, amounts_field = options, f"price.currency_options.{currency}"
    recurring = price.get("recurring")
    if not isinstance(recurring, dict):
        raise _FieldError("price.recurring", "not a recurring price")
    interval = recurring.get("interval")
    if not isinstance(interval, str) or interval not in DEFAULT_PERIODS_PER_YEAR:
        raise _FieldError("price.recurring.interval", f"unknown interval {interval!r}")
    interval_count = recurring.get("interval_count") or 1
    if not isinstance(interval_count, int) or interval_count < 1:
        raise _FieldError("price.recurring.interval_count", f"must be a positive integer, got {interval_count!r}")
    metered = recurring.get("usage_type") == "metered"

    billing_scheme = price.get("billing_scheme") or "per_unit"
    tiers = None
    unit_amount = Decimal(0)
    if billing_scheme == "tiered":
        scheme = price.get("tiers_mode")
        if scheme not in ("volume", "graduated"):
            raise _FieldError("price.tiers_mode", f"unknown tiers_mode {scheme!r}")
        tiers = _tiers(amounts.get("tiers"), f"{amounts_field}.tiers")
    elif billing_scheme == "per_unit":
        scheme = "per_unit"
        parsed = _amount(amounts, "unit_amount", amounts_field)
        if parsed is None and not metered:
            raise _FieldError(f"{amounts_field}.unit_amount_decimal", "per-unit price without a unit amount")
        unit_amount = parsed or Decimal(0)
    else:
        raise _FieldError("price.billing_scheme", f"unknown billing_scheme {billing_scheme!r}")

    divide_by, round_up = 1, False
    transform = price.get("transform_quantity")
    if transform:
        divide_by = transform.get("divide_by")
        if not isinstance(divide_by, int) or divide_by < 1:
            raise _FieldError("price.transform_quantity.divide_by", f"must be a positive integer, got {divide_by!r}")
        if transform.get("round") not in ("up", "down"):
            raise _FieldError("price.transform_quantity.round", f"must be up or down, got {transform.get('round')!r}")
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
        raise _FieldError(field, "discount not expanded: list subscriptions with expand data.discounts")
    source = discount.get("source") or {}
    coupon = source.get("coupon", discount.get("coupon"))  # clover+ shape, then the pre-clover one
    if isinstance(coupon, str):
        found = coupons.get(coupon)
        if found is None:
            raise _FieldError(f"{field}.source.coupon", f"coupon {coupon!r} is not expanded nor in the coupon list")
        return found
    if not isinstance(coupon, dict):
        raise _FieldError(f"{field}.source.coupon", "discount without a coupon")
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
            raise _FieldError(
                f"{field}.source.coupon.currency",
                f"amount_off coupon in {coupon.get('currency')!r} has no amount in {currency!r}",
            )
        amount_off = int(raw_amount)
    duration = coupon.get("duration")
    if duration not in ("forever", "repeating", "once"):
        raise _FieldError(f"{field}.source.coupon.duration", f"unknown duration {duration!r}")
    applies_to = (coupon.get("applies_to") or {}).get("products")
    parsed = Discount(
        level,
        position,
        Decimal(0) if percent is None else _decimal(percent, f"{field}.source.coupon.percent_off"),
        amount_off,
        duration,
        _time(discount.get("start")),
        _time(discount.get("end")),
    )
    return parsed, None if applies_to is None else frozenset(applies_to)


def _invoice_amounts(invoice: Any) -> dict[str, Decimal] | None:
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


_FLOAT_COLUMNS = (
    "created",
    "start_date",
    "trial_start",
    "trial_end",
    "canceled_at",
    "ended_at",
    "paused_at",
    "current_period_start",
    "current_period_end",
)
_DTYPES: dict[str, Any] = {
    **dict.fromkeys(_FLOAT_COLUMNS, "float64"),
    "cancel_at_period_end": "bool",
    "metered": "bool",
    "round_up": "bool",
    "quantity": "int64",
    "interval_count": "int64",
    "divide_by": "int64",
}

HEAD_COLUMNS = ITEM_COLUMNS[:12]
_HEAD_TIMES = ("created", "start_date", "trial_start", "trial_end", "canceled_at", "ended_at")
_head_times = itemgetter(*_HEAD_TIMES)
_ITEM_FIELDS = ("id", "price", "quantity", "current_period_start", "current_period_end", "discounts")
_item_fields = itemgetter(*_ITEM_FIELDS)
ITEM_PART_COLUMNS = ITEM_COLUMNS[12:18]
PRICE_COLUMNS = PriceFields._fields
_OBJECT_COLUMNS = frozenset(ITEM_COLUMNS) - frozenset(_DTYPES)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building millions of acyclic tuples: the cyclic GC would rescan the live heap for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _column(name: str, values: Sequence[Any]) -> np.ndarray:
    if name not in _OBJECT_COLUMNS:
        return np.array(values, dtype=_DTYPES[name])
    return np.fromiter(values, dtype=object, count=len(values))  # a tuple value stays one cell


def _transpose(rows: Sequence[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    return list(zip(*rows, strict=True)) if rows else [()] * width


class Flattener:
    """Parses subscriptions into a head (subscription fields) and item parts with a price code.

    Prices are parsed once per (price id, currency): Stripe price ids are unique per account.
    `rows` gives one subscription's ItemRows (the exact engine); `frame` builds the column-wise
    DataFrame of many (the vectorised engine). Both run the same parsing and validation.
    """

    def __init__(self, coupons: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.coupons = coupons or {}
        self.prices: list[PriceFields] = []
        self._price_codes: dict[tuple[str, str], int] = {}
        self._price_errors: dict[tuple[str, str], _FieldError] = {}

    def _price_code(self, price: Any, currency: str) -> int:
        try:  # the hot path: a price already parsed (a str or None price raises TypeError)
            return self._price_codes[price["id"], currency]
        except (KeyError, TypeError):
            pass
        price_id = price.get("id") if isinstance(price, dict) else None
        key = (price_id, currency) if price_id else None  # cache only prices with an id
        if key is not None and key in self._price_errors:
            raise self._price_errors[key]
        try:
            self.prices.append(parse_price(price, currency))
        except _FieldError as error:
            if key is not None:
                self._price_errors[key] = error
            raise
        code = len(self.prices) - 1
        if key is not None:
            self._price_codes[key] = code
        return code

    def parts(self, subscription: Mapping[str, Any]) -> tuple[tuple, list[tuple]]:
        """(head, [item part + (price code,)]); raises RevenueRecordError naming the subscription and field."""
        sub_id = subscription.get("id")
        try:
            if not sub_id:
                raise _FieldError("id", "subscription without an id")
            return self._parts(subscription, sub_id)
        except _FieldError as error:
            raise RevenueRecordError(RevenueError(sub_id or "<missing id>", error.field, error.message)) from None

    def rows(self, subscription: Mapping[str, Any]) -> list[ItemRow]:
        head, items = self.parts(subscription)
        head = head[:5] + tuple(map(_time, head[5:]))
        return [
            ItemRow._make(head + (i[0], int(i[1]), _time(i[2]), _time(i[3]), i[4], i[5]) + self.prices[i[6]])
            for i in items
        ]

    def frame(self, subscriptions: Iterable[Mapping[str, Any]]) -> tuple[pd.DataFrame, list[RevenueError]]:
        heads: list[tuple] = []
        items: list[tuple] = []
        sizes: list[int] = []
        errors: list[RevenueError] = []
        with _gc_paused():
            for subscription in subscriptions:
                try:
                    head, parts = self.parts(subscription)
                except RevenueRecordError as error:
                    errors.append(error.error)
                    continue
                heads.append(head)
                items.extend(parts)
                sizes.append(len(parts))
            repeat = np.array(sizes, dtype=np.int64)
            columns: dict[str, np.ndarray] = {}
            for name, values in zip(HEAD_COLUMNS, _transpose(heads, len(HEAD_COLUMNS)), strict=True):
                columns[name] = np.repeat(_column(name, values), repeat)
            item_columns = _transpose(items, len(ITEM_PART_COLUMNS) + 1)
            for name, values in zip(ITEM_PART_COLUMNS, item_columns[:-1], strict=True):
                columns[name] = _column(name, values)
            codes = np.array(item_columns[-1], dtype=np.int64)
            for name, values in zip(PRICE_COLUMNS, _transpose(self.prices, len(PRICE_COLUMNS)), strict=True):
                columns[name] = _column(name, values)[codes]
            frame = pd.DataFrame({name: pd.Series(columns[name], copy=False) for name in ITEM_COLUMNS})
        return frame, errors

    def _parts(self, sub: Mapping[str, Any], sub_id: str) -> tuple[tuple, list[tuple]]:
        currency = sub.get("currency")
        if not currency:
            raise _FieldError("currency", "subscription without a currency")
        currency = currency.lower()
        customer = sub.get("customer")
        customer_id = customer.get("id") if isinstance(customer, dict) else customer
        if not customer_id:
            raise _FieldError("customer", "subscription without a customer")
        raw_discounts = sub.get("discounts")
        sub_discounts = (
            [
                parse_discount(d, self.coupons, currency, SUBSCRIPTION_LEVEL, j, f"discounts[{j}]")
                for j, d in enumerate(raw_discounts)
            ]
            if raw_discounts
            else []
        )
        details = sub.get("status_details")
        paused = ((details.get("paused") or {}).get("transitioned_at")) if details else None
        try:
            times = _head_times(sub)  # one C call; raw ints/None, made floats column-wise
        except KeyError:
            times = tuple(map(sub.get, _HEAD_TIMES))
        status, cancel_at_period_end = sub.get("status") or "", bool(sub.get("cancel_at_period_end"))
        head = (sub_id, customer_id, status, currency, cancel_at_period_end, *times, paused)
        items = (sub.get("items") or {}).get("data")
        if not items:
            raise _FieldError("items.data", "subscription without items")
        invoice_amounts: dict[str, Decimal] | None = None
        parts = []
        for i, item in enumerate(items):
            try:
                fields = _item_fields(item)  # one C call, as for the head
            except (KeyError, TypeError):
                fields = tuple(map(item.get, _ITEM_FIELDS))
            item_id, raw_price, quantity, period_start, period_end, own_discounts = fields
            try:
                code = self._price_code(raw_price, currency)
            except _FieldError as error:
                raise _FieldError(f"items.data[{i}].{error.field}", error.message) from None
            price = self.prices[code]
            discounts: tuple[Discount, ...] = ()
            if sub_discounts:
                product = price.product_id
                discounts = tuple(d for d, products in sub_discounts if products is None or product in products)
            if own_discounts:
                own = tuple(
                    parse_discount(d, self.coupons, currency, ITEM_LEVEL, k, f"items.data[{i}].discounts[{k}]")[0]
                    for k, d in enumerate(own_discounts)
                )
                discounts = own + discounts
            metered_amount = None
            if price.metered:
                if invoice_amounts is None:
                    invoice_amounts = _invoice_amounts(sub.get("latest_invoice")) or {}
                metered_amount = invoice_amounts.get(item_id) or invoice_amounts.get(price.price_id)
            parts.append(
                (item_id or f"{sub_id}#{i}", quantity or 0, period_start, period_end, discounts, metered_amount, code)
            )
        return head, parts


def flatten(
    subscriptions: Iterable[Mapping[str, Any]], coupons: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[pd.DataFrame, list[RevenueError]]:
    """One row per subscription item (ITEM_COLUMNS); unparseable subscriptions are left out and reported."""
    return Flattener(coupons).frame(subscriptions)
