"""The pipeline's revenue frames: item rows from subscription dicts, then per-subscription figures.

The amounts come from revenue_vector (exact integers, the same rules as revenue_exact); this module
adds the attributes the pipeline writes (plan, interval, seats, dates, first paid day).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from assets.revenue.exact import epoch_seconds, list_mrr
from assets.revenue.flatten import HEAD_COLUMNS, flatten
from assets.revenue.records import ITEM_COLUMNS, ItemRow, RevenueError
from assets.revenue.rules import DEFAULT_RULES, RevenueRules, is_in, status_counts
from assets.revenue.vector import first_rows, mrr_amounts

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
    return Framed(*flatten(subscriptions, coupons))


def _price_attributes(
    items: pd.DataFrame, prices: tuple[np.ndarray, np.ndarray], rules: RevenueRules
) -> tuple[np.ndarray, np.ndarray]:
    """Plan name and seat flag per row, decided once per distinct price.

    Plan: configured mapping (price id, lookup_key, product id), then metadata (price, product),
    then lookup_key, then product id. Seat: configured price/product ids or metadata flag "true".
    """
    codes, first = prices
    columns = ("price_id", "lookup_key", "product_id", "price_metadata", "product_metadata")
    plans, seats = [], []
    for price_id, lookup_key, product_id, price_meta, product_meta in zip(
        *(items[c].to_numpy(object)[first] for c in columns), strict=True
    ):
        keys = (price_id, lookup_key, product_id)
        mapped = next((rules.plan_mapping[k] for k in keys if k in rules.plan_mapping), None)
        metadata_key = rules.plan_metadata_key
        plans.append(
            mapped or price_meta.get(metadata_key) or product_meta.get(metadata_key) or lookup_key or product_id
        )
        flag = rules.seat_metadata_key
        flagged = bool(flag) and str(price_meta.get(flag, product_meta.get(flag, ""))).lower() == "true"
        seats.append(flagged or price_id in rules.seat_price_ids or product_id in rules.seat_product_ids)
    return np.asarray(plans, dtype=object)[codes], np.asarray(seats, dtype=bool)[codes]


def _seat_counts(
    items: pd.DataFrame,
    prices: tuple[np.ndarray, np.ndarray],
    seat: np.ndarray,
    starts: np.ndarray,
    rules: RevenueRules,
) -> np.ndarray:
    quantity = items["quantity"].to_numpy(np.int64)
    seats = np.add.reduceat(np.where(seat, quantity, 0), starts)
    if rules.seats_default_to_licensed_quantity:
        codes, first = prices
        per_unit = items["scheme"].to_numpy(object)[first] == "per_unit"
        licensed = (~items["metered"].to_numpy(bool)[first] & per_unit)[codes]
        fallback = np.add.reduceat(np.where(licensed, quantity, 0), starts)
        seats = np.where(np.add.reduceat(seat.astype(np.int64), starts) > 0, seats, fallback)
    return seats.astype(np.int64)


def _first_max(values: np.ndarray, starts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per contiguous group (rows from `starts`, numbered by `group`), its first row holding the group's maximum."""
    at_max = np.flatnonzero(values == np.maximum.reduceat(values, starts)[group])
    return at_max[first_rows(group[at_max])]


def _timestamps(values: np.ndarray) -> pd.Series:
    """Epoch seconds (NaN = missing) as UTC timestamps, in one cast (numpy truncates and maps NaN to NaT)."""
    return pd.Series(values.astype("M8[s]"), copy=False).dt.tz_localize("UTC")


def _exact_rounded(
    items: pd.DataFrame, starts: np.ndarray, subs: np.ndarray, rules: RevenueRules, as_of: float
) -> list[int]:
    """List MRR of the subscriptions at `subs` (indexes into `starts`) from the exact engine."""
    ends = np.append(starts[1:], len(items))
    rows = np.concatenate([np.arange(starts[sub], ends[sub]) for sub in subs])
    values = zip(*(items[c].to_numpy()[rows].tolist() for c in ITEM_COLUMNS), strict=True)
    records = [ItemRow._make(v) for v in values]
    sizes = ends[subs] - starts[subs]
    bounds = np.append(0, np.cumsum(sizes))
    return [round(list_mrr(records[lo:hi], rules, as_of)) for lo, hi in itertools.pairwise(bounds)]


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

    amounts = mrr_amounts(items, starts, rules, when)
    rounded = amounts.rounded
    exact = np.flatnonzero(amounts.exact_needed)
    if exact.size:
        rounded[exact] = _exact_rounded(items, starts, exact, rules, when)

    head = items[list(HEAD_COLUMNS)].take(starts).reset_index(drop=True)
    status = head["status"].to_numpy(object)
    counts = np.asarray(status_counts(status, head["cancel_at_period_end"].to_numpy(), rules), dtype=bool)
    trial = np.asarray(is_in(status, rules.trial_statuses), dtype=bool)
    main = _first_max(amounts.undiscounted, starts, sub_code)
    plans, seat = _price_attributes(items, amounts.prices, rules)
    period_end = np.fmin.reduceat(items["current_period_end"].to_numpy(), starts)
    period_start = np.fmax.reduceat(items["current_period_start"].to_numpy(), starts)
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
            "seat_count": _seat_counts(items, amounts.prices, seat, starts, rules),
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
