"""The vectorised MRR engine: the same rules as revenue_exact, over a frame of item rows.

Amounts are computed in float64. A subscription whose unrounded MRR lies within a tolerance of a
rounding boundary (x.5) is recomputed by the exact engine from its rows, so both paths return the
same integers (float error here is below 1e-6 minor units; the tolerance is far wider).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from assets.revenue_exact import epoch_seconds, subscription_figures
from assets.revenue_records import ITEM_LEVEL, ItemRow, RevenueError, flatten, items_frame
from assets.revenue_rules import (
    DEFAULT_RULES,
    RevenueRules,
    discount_counts,
    is_in,
    status_counts,
    transformed_quantity,
)

# Near-tie band (minor units) that sends a subscription to the exact engine.
_TIE_ABSOLUTE = 1e-6
_TIE_RELATIVE = 1e-11

SUBSCRIPTION_COLUMNS: tuple[str, ...] = (
    "subscription_id",
    "customer_id",
    "currency",
    "status",
    "mrr_minor",
    "trial_mrr_minor",
    "list_mrr_minor",
    "plan",
    "plan_interval",
    "plan_interval_count",
    "seat_count",
    "cancel_at_period_end",
    "created_at",
    "start_at",
    "trial_start_at",
    "trial_end_at",
    "current_period_start_at",
    "current_period_end_at",
    "canceled_at",
    "ended_at",
    "paid_since",
)


class Framed(NamedTuple):
    """A result frame and the per-record problems that kept records out of it (or its NA cells)."""

    frame: pd.DataFrame
    errors: list[RevenueError]


def subscriptions_frame(
    subscriptions: Iterable[Mapping[str, Any]], coupons: Mapping[str, Mapping[str, Any]] | None = None
) -> Framed:
    """One row per subscription item (columns: revenue_records.ITEM_COLUMNS).

    `coupons` resolves `discount.source.coupon` ids when the pipeline lists coupons separately.
    A subscription that cannot be parsed is left out whole and reported in `errors`.
    """
    rows, errors = flatten(subscriptions, coupons)
    return Framed(items_frame(rows), errors)


def _tiered_amounts(items: pd.DataFrame, quantity: np.ndarray, tiered: np.ndarray) -> np.ndarray:
    """Period amounts of tiered rows: each row is joined to its price's tiers, then summed back."""
    amounts = np.zeros(len(items))
    rows = np.flatnonzero(tiered)
    if rows.size == 0:
        return amounts
    codes, tier_sets = pd.factorize(items["tiers"].to_numpy()[rows])
    sizes = np.array([len(tiers) for tiers in tier_sets])
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    flat_tiers = [tier for tiers in tier_sets for tier in tiers]
    upper = np.array([np.inf if t.up_to is None else t.up_to for t in flat_tiers])
    lower = np.concatenate([[0.0], upper[:-1]])
    lower[offsets] = 0.0
    unit = np.array([float(t.unit) for t in flat_tiers])
    flat = np.array([float(t.flat) for t in flat_tiers])

    per_row = sizes[codes]
    owner = np.repeat(rows, per_row)
    starts = np.repeat(offsets[codes], per_row)
    tier = starts + np.arange(per_row.sum()) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    q = quantity[owner].astype(float)
    volume = items["scheme"].to_numpy()[owner] == "volume"
    holds = (q > lower[tier]) & (q <= upper[tier])
    units = np.clip(np.minimum(q, upper[tier]) - lower[tier], 0, None)
    graduated_part = np.where(units > 0, unit[tier] * units + flat[tier], 0.0)
    volume_part = np.where(holds, unit[tier] * q + flat[tier], 0.0)
    return np.bincount(owner, np.where(volume, volume_part, graduated_part), minlength=len(items))


def _discount_table(items: pd.DataFrame) -> pd.DataFrame:
    """One row per (item row, discount), in the order the discounts are applied."""
    entries = [(row, *d) for row, discounts in enumerate(items["discounts"].to_numpy()) for d in discounts]
    columns = ["row", "level", "position", "percent_off", "amount_off", "duration", "start", "end"]
    table = pd.DataFrame(entries, columns=columns)
    table["percent_off"] = table["percent_off"].astype(float)
    return table.astype({"row": "int64", "level": "int64", "position": "int64", "amount_off": "float64"})


def _apply_discounts(
    items: pd.DataFrame, amount: np.ndarray, factor: np.ndarray, sub_code: np.ndarray, rules: RevenueRules, as_of: float
) -> np.ndarray:
    """Monthly amounts after item discounts (on period amounts) then subscription discounts."""
    table = _discount_table(items)
    period_start = items["current_period_start"].to_numpy()
    counts = discount_counts(
        table["duration"].to_numpy(object),
        table["start"].to_numpy(float),
        table["end"].to_numpy(float),
        period_start[table["row"].to_numpy()],
        as_of,
        rules,
    )
    table = table[np.asarray(counts, dtype=bool)]
    amount = amount.copy()
    for _, step in table[table["level"] == ITEM_LEVEL].groupby("position", sort=True):
        rows = step["row"].to_numpy()
        pct, off = step["percent_off"].to_numpy(), step["amount_off"].to_numpy()
        reduced = np.where(off == 0, amount[rows] * (100 - pct) / 100, amount[rows] - off)
        amount[rows] = np.maximum(reduced, 0.0)
    monthly = amount * factor
    for _, step in table[table["level"] != ITEM_LEVEL].groupby("position", sort=True):
        rows = step["row"].to_numpy()
        pct, off = step["percent_off"].to_numpy(), step["amount_off"].to_numpy()
        if off[0] == 0:
            monthly[rows] = monthly[rows] * (100 - pct) / 100
            continue
        base = monthly[rows] / factor[rows]
        total = np.bincount(sub_code[rows], base, minlength=sub_code.max() + 1)[sub_code[rows]]
        share = np.divide(off * base, total, out=np.zeros_like(base), where=total > 0)
        monthly[rows] = np.maximum(monthly[rows] - share * factor[rows], 0.0)
    return monthly


def _plan_names(items: pd.DataFrame, rules: RevenueRules) -> np.ndarray:
    """Plan per row: configured mapping (price id, lookup_key, product id), metadata, lookup_key, product."""
    codes, uniques = pd.factorize(items["price_id"].to_numpy(object))
    first = pd.Series(np.arange(len(items))).groupby(codes).first().to_numpy()
    names = []
    for row in first:
        price_id, lookup_key, product_id = (
            items["price_id"].iat[row],
            items["lookup_key"].iat[row],
            items["product_id"].iat[row],
        )
        mapped = next(
            (rules.plan_mapping[k] for k in (price_id, lookup_key, product_id) if k in rules.plan_mapping), None
        )
        key = rules.plan_metadata_key
        names.append(
            mapped
            or items["price_metadata"].iat[row].get(key)
            or items["product_metadata"].iat[row].get(key)
            or lookup_key
            or product_id
        )
    return np.asarray(names, dtype=object)[codes] if len(uniques) else np.array([], dtype=object)


def _seat_rows(items: pd.DataFrame, rules: RevenueRules) -> np.ndarray:
    seat = is_in(items["price_id"].to_numpy(object), rules.seat_price_ids) | is_in(
        items["product_id"].to_numpy(object), rules.seat_product_ids
    )
    if rules.seat_metadata_key:
        key = rules.seat_metadata_key
        flagged = [
            str(p.get(key, r.get(key, ""))).lower() == "true"
            for p, r in zip(items["price_metadata"].to_numpy(), items["product_metadata"].to_numpy(), strict=True)
        ]
        seat |= np.asarray(flagged, dtype=bool)
    return seat


def _seat_counts(items: pd.DataFrame, sub_code: np.ndarray, n_subs: int, rules: RevenueRules) -> np.ndarray:
    quantity = items["quantity"].to_numpy()
    seat = _seat_rows(items, rules)
    seats = np.bincount(sub_code, np.where(seat, quantity, 0), minlength=n_subs)
    if rules.seats_default_to_licensed_quantity:
        licensed = (~items["metered"].to_numpy()) & (items["scheme"].to_numpy(object) == "per_unit")
        fallback = np.bincount(sub_code, np.where(licensed, quantity, 0), minlength=n_subs)
        has_seat_item = np.bincount(sub_code, seat, minlength=n_subs) > 0
        seats = np.where(has_seat_item, seats, fallback)
    return seats.astype(np.int64)


def _timestamps(values: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(values, unit="s", utc=True))


def _exact_rounding(items: pd.DataFrame, starts: np.ndarray, subs: np.ndarray, rules: RevenueRules, as_of: float):
    """Exact figures for the subscriptions at `subs` (indexes into the per-subscription arrays)."""
    ends = np.append(starts[1:], len(items))
    results = []
    for sub in subs:
        block = items.iloc[starts[sub] : ends[sub]]
        rows = [ItemRow._make(values) for values in block.itertuples(index=False, name=None)]
        results.append(subscription_figures(rows, rules, as_of))
    return results


def _metered_errors(items: pd.DataFrame, rules: RevenueRules) -> list[RevenueError]:
    if rules.metered_policy == "exclude":
        return []
    missing = items["metered"].to_numpy() & pd.isna(items["metered_amount"]).to_numpy()
    ids = pd.unique(items["subscription_id"].to_numpy(object)[missing])
    return [RevenueError(sub, "latest_invoice", "metered item but the latest invoice is not expanded") for sub in ids]


def mrr_by_subscription(
    items: pd.DataFrame, rules: RevenueRules | None = None, as_of: datetime | None = None
) -> Framed:
    """Per-subscription figures (columns: SUBSCRIPTION_COLUMNS) from `subscriptions_frame` rows.

    Amounts are integers in minor units of `currency`; times are UTC timestamps. `list_mrr_minor` is
    the MRR before the status gate. Items of one subscription must be contiguous (as flattened).
    """
    rules = rules or DEFAULT_RULES
    when = epoch_seconds(as_of)
    errors = _metered_errors(items, rules)
    if errors:
        failed = {e.record for e in errors}
        items = items[~items["subscription_id"].isin(failed)].reset_index(drop=True)
    if items.empty:
        return Framed(pd.DataFrame(columns=list(SUBSCRIPTION_COLUMNS)), errors)

    sub_ids = items["subscription_id"].to_numpy(object)
    change = np.empty(len(items), dtype=bool)
    change[0], change[1:] = True, sub_ids[1:] != sub_ids[:-1]
    starts = np.flatnonzero(change)
    sub_code = np.cumsum(change) - 1
    n_subs = len(starts)

    quantity = np.asarray(
        transformed_quantity(items["quantity"].to_numpy(), items["divide_by"].to_numpy(), items["round_up"].to_numpy()),
        dtype=np.int64,
    )
    scheme = items["scheme"].to_numpy(object)
    metered = items["metered"].to_numpy()
    unit = np.fromiter(map(float, items["unit_amount"].to_numpy(object)), float, len(items))
    amount = np.where(scheme == "per_unit", unit * quantity, 0.0)
    amount += _tiered_amounts(items, quantity, (scheme != "per_unit") & ~metered)
    if rules.metered_policy == "latest_invoice":
        invoiced = np.array([0.0 if v is None else float(v) for v in items["metered_amount"].to_numpy(object)])
        amount = np.where(metered, invoiced, amount)
    amount = np.where(metered & (rules.metered_policy == "exclude"), 0.0, amount)

    periods = items["interval"].map(rules.periods_per_year).to_numpy(float)
    factor = periods / (12 * items["interval_count"].to_numpy())
    undiscounted = amount * factor
    monthly = _apply_discounts(items, amount, factor, sub_code, rules, when)
    value = np.maximum(np.bincount(sub_code, monthly, minlength=n_subs), 0.0)

    head = items.iloc[starts].reset_index(drop=True)
    status = head["status"].to_numpy(object)
    counts = np.asarray(status_counts(status, head["cancel_at_period_end"].to_numpy(), rules), dtype=bool)
    trial = np.asarray(is_in(status, rules.trial_statuses), dtype=bool)
    rounded = np.rint(value).astype(np.int64)
    near_tie = np.abs(value - np.floor(value) - 0.5) <= _TIE_ABSOLUTE + _TIE_RELATIVE * value
    for sub, figures in zip(
        np.flatnonzero(near_tie), _exact_rounding(items, starts, np.flatnonzero(near_tie), rules, when), strict=True
    ):
        rounded[sub] = round(figures.list_mrr)

    main = pd.Series(undiscounted).groupby(sub_code).idxmax().to_numpy()
    plans = _plan_names(items, rules)
    period_end = pd.Series(items["current_period_end"].to_numpy()).groupby(sub_code).min().to_numpy()
    period_start = pd.Series(items["current_period_start"].to_numpy()).groupby(sub_code).max().to_numpy()
    frame = pd.DataFrame(
        {
            "subscription_id": head["subscription_id"],
            "customer_id": head["customer_id"],
            "currency": head["currency"],
            "status": head["status"],
            "mrr_minor": np.where(counts, rounded, 0),
            "trial_mrr_minor": np.where(trial, rounded, 0),
            "list_mrr_minor": rounded,
            "plan": plans[main],
            "plan_interval": items["interval"].to_numpy(object)[main],
            "plan_interval_count": items["interval_count"].to_numpy()[main],
            "seat_count": _seat_counts(items, sub_code, n_subs, rules),
            "cancel_at_period_end": head["cancel_at_period_end"],
            "created_at": _timestamps(head["created"].to_numpy()),
            "start_at": _timestamps(head["start_date"].to_numpy()),
            "trial_start_at": _timestamps(head["trial_start"].to_numpy()),
            "trial_end_at": _timestamps(head["trial_end"].to_numpy()),
            "current_period_start_at": _timestamps(period_start),
            "current_period_end_at": _timestamps(period_end),
            "canceled_at": _timestamps(head["canceled_at"].to_numpy()),
            "ended_at": _timestamps(head["ended_at"].to_numpy()),
            "paid_since": _timestamps(_paid_since(head, rounded, when)),
        }
    )
    return Framed(frame, errors)


_NEVER_PAID = frozenset({"incomplete", "incomplete_expired", "trialing"})


def _paid_since(head: pd.DataFrame, list_mrr: np.ndarray, as_of: float) -> np.ndarray:
    """First paid moment: trial end (or start) when the subscription was paid past it; NaN otherwise.

    Inferred from the snapshot: a subscription ended or paused before its trial ended never paid.
    """
    trial_end = head["trial_end"].to_numpy()
    start = np.where(np.isnan(head["start_date"].to_numpy()), head["created"].to_numpy(), head["start_date"].to_numpy())
    paid_start = np.where(np.isnan(trial_end), start, trial_end)
    stopped = np.fmin(head["ended_at"].to_numpy(), head["paused_at"].to_numpy())
    stopped = np.where(np.isnan(stopped), as_of, stopped)
    paid = (list_mrr > 0) & ~is_in(head["status"].to_numpy(object), _NEVER_PAID) & (stopped > paid_start)
    return np.where(paid, paid_start, np.nan)
