"""Vectorised exact MRR amounts: integer numerators over one frame-wide denominator.

Every amount is held as an integer numerator N over a common denominator D that grows as the rules
apply (10^s for the Decimal amounts, P for each percent step, 12 x lcm(interval_count) for the
monthly normalisation). The result N/D is rounded half-even once per subscription, so this path
returns exactly the integers of revenue_exact. Arrays are int64 when a bound proves no overflow,
Python-int object arrays otherwise. The one case it hands to the exact engine: a subscription
amount_off discount shared pro rata by several items (the shares have per-subscription denominators).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from decimal import Decimal
from operator import itemgetter
from typing import NamedTuple

import numpy as np
import pandas as pd

from assets.revenue.money import half_even_div
from assets.revenue.records import ITEM_LEVEL, Discount
from assets.revenue.rules import RevenueRules, discount_counts, transformed_quantity

_INT64_SAFE = 2**62


class VectorMrr(NamedTuple):
    rounded: np.ndarray  # per subscription: list MRR in minor units, rounded half-even, never negative
    undiscounted: np.ndarray  # per item: monthly amount before discounts (float, for ranking only)
    exact_needed: np.ndarray  # per subscription: True where the caller must use the exact engine
    prices: tuple[np.ndarray, np.ndarray]  # per item: (price id, currency) code; each code's first row


def _places(values: Iterable[Decimal]) -> int:
    # Parsed prices are finite, so each exponent is an int (only NaN/Infinity have a letter there).
    return max((max(-int(v.as_tuple().exponent), 0) for v in values), default=0)


def _scaled(values: Iterable[Decimal], places: int) -> list[int]:
    return [int(v.scaleb(places)) for v in values]


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Each code's first row, for codes numbered in order of first appearance (as pd.factorize gives)."""
    seen = np.maximum.accumulate(codes)
    new = np.empty(len(codes), dtype=bool)
    new[:1], new[1:] = True, seen[1:] != seen[:-1]
    return np.flatnonzero(new)


def price_codes(items: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Codes of (price id, currency) and each code's first row: a price's fields are read once.

    (Factorising the Decimal amounts themselves would hash 1M Decimals; ids hash cheaply.)
    """
    price_codes, _ = pd.factorize(items["price_id"].to_numpy(object))
    currency_codes, currencies = pd.factorize(items["currency"].to_numpy(object))
    codes, _ = pd.factorize(price_codes * len(currencies) + currency_codes)
    return codes, first_rows(codes)


_DISCOUNT_DTYPES: tuple[type, ...] = (np.int64, np.int64, object, np.int64, object, np.float64, np.float64)


def _discount_table(items: pd.DataFrame, rules: RevenueRules, as_of: float) -> pd.DataFrame:
    """One row per (item row, counting discount), in order of application."""
    discounts = items["discounts"].to_numpy(object)
    held = np.flatnonzero(discounts.astype(bool))  # most items have none: skip them in C
    per_row = discounts[held]
    flat = list(itertools.chain.from_iterable(per_row))
    table = pd.DataFrame(
        {
            "row": np.repeat(held, np.fromiter(map(len, per_row), dtype=np.int64, count=len(per_row))),
            **{
                name: np.fromiter(map(itemgetter(index), flat), dtype=dtype, count=len(flat))
                for index, (name, dtype) in enumerate(zip(Discount._fields, _DISCOUNT_DTYPES, strict=True))
            },
        }
    )
    period_start = items["current_period_start"].to_numpy()[table["row"].to_numpy()]
    duration = table["duration"].to_numpy(object)
    counts = discount_counts(duration, table["start"].to_numpy(), table["end"].to_numpy(), period_start, as_of, rules)
    return table[np.asarray(counts, dtype=bool)]


class _TierPairs(NamedTuple):
    owner: np.ndarray  # item row of each (row, tier) pair
    lower: np.ndarray
    upper: np.ndarray  # -1 = open-ended
    tier: np.ndarray  # index into the flattened tiers of the distinct tier sets


def _tier_pairs(
    tiers: np.ndarray, prices: tuple[np.ndarray, np.ndarray], tiered: np.ndarray
) -> tuple[_TierPairs, list[Decimal], list[Decimal]]:
    """Each tiered row joined to its price's tiers (built once per price, not hashed per row)."""
    rows = np.flatnonzero(tiered)
    if rows.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _TierPairs(empty, empty, empty, empty), [], []
    price_of_row, price_first_row = prices
    codes, tiered_prices = pd.factorize(price_of_row[rows])
    tier_sets = tiers[price_first_row[tiered_prices]]
    flat_tiers = [tier for tiers in tier_sets for tier in tiers]
    sizes = np.array([len(tiers) for tiers in tier_sets], dtype=np.int64)
    offsets = np.cumsum(sizes) - sizes
    upper = np.array([-1 if t.up_to is None else t.up_to for t in flat_tiers], dtype=np.int64)
    lower = np.concatenate(([0], np.maximum(upper[:-1], 0)))
    lower[offsets] = 0
    per_row = sizes[codes]
    owner = np.repeat(rows, per_row)
    tier = np.repeat(offsets[codes] - (np.cumsum(per_row) - per_row), per_row) + np.arange(per_row.sum())
    units, flats = [t.unit for t in flat_tiers], [t.flat for t in flat_tiers]
    return _TierPairs(owner, lower[tier], upper[tier], tier), units, flats


def mrr_amounts(items: pd.DataFrame, sub_starts: np.ndarray, rules: RevenueRules, as_of: float) -> VectorMrr:
    n = len(items)
    sub_code = np.repeat(np.arange(len(sub_starts)), np.diff(np.append(sub_starts, n)))
    quantity = np.asarray(
        transformed_quantity(items["quantity"].to_numpy(), items["divide_by"].to_numpy(), items["round_up"].to_numpy()),
        dtype=np.int64,
    )
    metered = items["metered"].to_numpy(bool)
    use_invoice = metered & (rules.metered_policy == "latest_invoice")
    unit_codes, first_rows = prices = price_codes(items)
    # Price fields are compared once per price, then broadcast to the rows by code.
    scheme = items["scheme"].to_numpy(object)[first_rows]
    per_unit, volume = (scheme == "per_unit")[unit_codes], (scheme == "volume")[unit_codes]
    units = items["unit_amount"].to_numpy(object)[first_rows]
    pairs, tier_units, tier_flats = _tier_pairs(items["tiers"].to_numpy(object), prices, ~per_unit & ~metered)
    invoiced = [Decimal(0) if v is None else v for v in items["metered_amount"].to_numpy(object)[use_invoice]]
    table = _discount_table(items, rules, as_of)
    percents = pd.unique(table["percent_off"].to_numpy(object))

    places = _places([*units, *tier_units, *tier_flats, *invoiced])
    percent_places = _places(percents)
    percent_den = 100 * 10**percent_places
    percent_ints = dict(zip(percents, _scaled(percents, percent_places), strict=True))
    lcm = math.lcm(*pd.unique(items["interval_count"].to_numpy()).tolist())
    intervals = items["interval"].to_numpy(object)[first_rows]
    periods = np.array([rules.periods_per_year.get(name, 0) for name in intervals], dtype=np.int64)[unit_codes]
    multiplier = periods * (lcm // items["interval_count"].to_numpy(np.int64))

    # Bound every numerator to choose int64 or exact Python ints.
    unit_ints = np.array(_scaled(units, places), dtype=object)
    tier_unit_ints = np.array(_scaled(tier_units, places), dtype=object)
    tier_flat_ints = np.array(_scaled(tier_flats, places), dtype=object)
    scaled_amounts = [*unit_ints.tolist(), *tier_unit_ints.tolist(), *tier_flat_ints.tolist()]
    n_tiers = int(np.bincount(pairs.owner, minlength=n).max(initial=0))
    largest = max(map(abs, scaled_amounts), default=0) * (int(quantity.max(initial=0)) + 1) * (n_tiers + 1)
    largest += max(map(abs, _scaled(invoiced, places)), default=0)
    largest += int(table["amount_off"].max()) * 10**places if len(table) else 0
    percent_steps = len(table.loc[table["percent_off"] != 0, ["level", "position"]].drop_duplicates())
    items_per_sub = int(np.diff(np.append(sub_starts, n)).max(initial=1))
    numerator_bound = largest * percent_den**percent_steps * int(multiplier.max(initial=1)) * items_per_sub
    denominator_bound = 10**places * percent_den**percent_steps * 12 * lcm
    dtype = np.int64 if max(numerator_bound, denominator_bound) < _INT64_SAFE else object

    amount = np.zeros(n, dtype=dtype)
    amount[per_unit] = unit_ints[unit_codes[per_unit]].astype(dtype) * quantity[per_unit]
    if pairs.owner.size:
        q = quantity[pairs.owner]
        upper = np.where(pairs.upper < 0, q, pairs.upper)
        units_in = np.clip(np.minimum(q, upper) - pairs.lower, 0, None)
        unit, flat = tier_unit_ints[pairs.tier].astype(dtype), tier_flat_ints[pairs.tier].astype(dtype)
        graduated = np.where(units_in > 0, unit * units_in + flat, 0)
        by_volume = np.where((q > pairs.lower) & (q <= upper), unit * q + flat, 0)
        np.add.at(amount, pairs.owner, np.where(volume[pairs.owner], by_volume, graduated))
    amount[use_invoice] = np.array(_scaled(invoiced, places), dtype=object).astype(dtype)
    amount[metered & ~use_invoice] = 0
    denominator = 10**places
    undiscounted = amount.astype(float) * multiplier
    adjust = np.zeros(len(sub_starts), dtype=dtype)  # subscription-level reductions not assigned to an item

    def step(values: np.ndarray, rows: np.ndarray, off: np.ndarray, pct: np.ndarray, reduction: np.ndarray) -> None:
        """One discount step: percent rows scale, amount rows subtract; the denominator grows by P if needed."""
        nonlocal denominator
        is_pct = off == 0
        before = values[rows]
        if is_pct.any():
            values *= percent_den
            adjust[:] *= percent_den
            denominator *= percent_den
            pct_ints = pd.Series(pct).map(percent_ints).to_numpy(dtype)
            after = np.where(is_pct, before * (percent_den - pct_ints), (before - reduction) * percent_den)
        else:
            after = before - reduction
        values[rows] = np.maximum(after, 0)

    items_table = table[table["level"] == ITEM_LEVEL]
    for _, at in items_table.groupby("position", sort=True):
        rows, off = at["row"].to_numpy(), at["amount_off"].to_numpy().astype(dtype)
        step(amount, rows, off, at["percent_off"].to_numpy(object), off * denominator)

    monthly = amount * multiplier.astype(dtype)
    denominator *= 12 * lcm
    n_subs = len(sub_starts)
    exact_needed = np.zeros(n_subs, dtype=bool)
    sub_table = table[table["level"] != ITEM_LEVEL]
    last_position = np.full(n_subs, -1)
    np.maximum.at(last_position, sub_code[sub_table["row"].to_numpy()], sub_table["position"].to_numpy())
    shared_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    for position, at in sub_table.groupby("position", sort=True):
        rows, off = at["row"].to_numpy(), at["amount_off"].to_numpy().astype(dtype)
        pct = at["percent_off"].to_numpy(object)
        shared = _shared_amount_off(sub_code[rows], off, n_subs)
        if shared.any():
            s_rows, s_subs = rows[shared], sub_code[rows[shared]]
            last = last_position[s_subs] == position
            exact_needed[s_subs[~last]] = True
            per_month = denominator // (12 * lcm)
            subs, q, reduction = _reduce_shared(
                monthly, s_rows[last], s_subs[last], off[shared][last], multiplier, per_month
            )
            shared_parts.append((subs, q, reduction, denominator))
            rows, off, pct = rows[~shared], off[~shared], pct[~shared]
        # A sole holder takes the whole amount_off, spread over its own interval.
        reduction = off * multiplier[rows].astype(dtype) * (denominator // (12 * lcm))
        step(monthly, rows, off, pct, reduction)

    total = np.add.reduceat(monthly, sub_starts) + adjust if n else monthly
    rounded = np.asarray(half_even_div(np.maximum(total, 0), denominator), dtype=np.int64)
    for subs, q, reduction, at_denominator in shared_parts:
        # (total - reduction / q) / denominator, exactly: scale to the per-subscription denominator q.
        scaled = reduction * (denominator // at_denominator)
        numerator = np.maximum(total[subs].astype(object) * q - scaled, 0)
        rounded[subs] = np.asarray(half_even_div(numerator, denominator * q), dtype=np.int64)
    return VectorMrr(rounded, undiscounted, exact_needed, prices)


def _shared_amount_off(subs: np.ndarray, off: np.ndarray, n_subs: int) -> np.ndarray:
    """Rows of an amount_off subscription discount that several items of one subscription share."""
    holders = np.bincount(subs[off != 0], minlength=n_subs)
    return (off != 0) & (holders[subs] > 1)


def _reduce_shared(
    monthly: np.ndarray, rows: np.ndarray, subs: np.ndarray, off: np.ndarray, multiplier: np.ndarray, per_month: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A subscription amount_off shared pro rata by several items, as its last discount.

    Numerators are over the current denominator D; an item's per-period amount is its monthly
    numerator / its multiplier, over D / per_month. With S and Q the holders' monthly and per-period
    sums, the shares take off amount_off x S / Q a month, each staying within its item while
    amount_off <= Q; beyond that every holder is 0 (done here, in `monthly`). Returns, for the
    others, (subscriptions, Q, amount_off x per_month x S): the caller subtracts the last / Q exactly.
    """
    unique_subs, first = np.unique(subs, return_index=True)
    positions = np.searchsorted(unique_subs, subs)
    held = np.zeros(len(unique_subs), dtype=object)
    per_period = np.zeros(len(unique_subs), dtype=object)
    np.add.at(held, positions, monthly[rows].astype(object))
    np.add.at(per_period, positions, monthly[rows].astype(object) // multiplier[rows])
    amount = off[first].astype(object) * per_month
    wipe = amount >= per_period
    monthly[rows[wipe[positions]]] = 0
    keep = ~wipe
    return unique_subs[keep], per_period[keep], amount[keep] * held[keep]
