"""Flattening Stripe subscription dicts into item rows: the one parser both revenue engines use.

`Flattener` parses each subscription into a head and item parts (prices parsed once per price and
currency, with the parsers of assets/revenue/records.py); `rows` gives one subscription's `ItemRow`s
(the exact engine), `frame` the column-wise table of a whole batch (the vector engine), with the
subscriptions it could not parse reported, never guessed.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from assets.revenue.records import (
    ITEM_COLUMNS,
    ITEM_LEVEL,
    SUBSCRIPTION_LEVEL,
    Discount,
    FieldError,
    ItemRow,
    PriceFields,
    RevenueError,
    RevenueRecordError,
    epoch_seconds,
    latest_invoice_amounts,
    parse_discount,
    parse_price,
)

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
        self._price_errors: dict[tuple[str, str], FieldError] = {}

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
        except FieldError as error:
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
                raise FieldError("id", "subscription without an id")
            return self._parts(subscription, sub_id)
        except FieldError as error:
            raise RevenueRecordError(RevenueError(sub_id or "<missing id>", error.field, error.message)) from None

    def rows(self, subscription: Mapping[str, Any]) -> list[ItemRow]:
        head, items = self.parts(subscription)
        head = head[:5] + tuple(map(epoch_seconds, head[5:]))
        return [
            ItemRow._make(
                head + (i[0], int(i[1]), epoch_seconds(i[2]), epoch_seconds(i[3]), i[4], i[5]) + self.prices[i[6]]
            )
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
            raise FieldError("currency", "subscription without a currency")
        currency = currency.lower()
        customer = sub.get("customer")
        customer_id = customer.get("id") if isinstance(customer, dict) else customer
        if not customer_id:
            raise FieldError("customer", "subscription without a customer")
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
            raise FieldError("items.data", "subscription without items")
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
            except FieldError as error:
                raise FieldError(f"items.data[{i}].{error.field}", error.message) from None
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
                    invoice_amounts = latest_invoice_amounts(sub.get("latest_invoice")) or {}
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
