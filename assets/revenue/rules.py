"""Every switch of the revenue engine, and the rule predicates both engines share.

The predicates are written with numpy operators so the same function serves one subscription
(scalars, exact engine) and a whole frame (arrays, vectorised engine). docs/revenue.md explains each
default and the vendor convention each alternative reproduces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from assets.revenue.money import parse_rates

DiscountConvention = Literal["forever_and_repeating", "forever_only", "all_active"]
MeteredPolicy = Literal["exclude", "latest_invoice"]

DISCOUNT_CONVENTIONS: tuple[DiscountConvention, ...] = ("forever_and_repeating", "forever_only", "all_active")
METERED_POLICIES: tuple[MeteredPolicy, ...] = ("exclude", "latest_invoice")

# Billing periods per year; MRR = period amount x periods_per_year / (12 x interval_count).
# week 52 and day 365 give week x 52/12 and day x 365/12 (not x4 and x30).
DEFAULT_PERIODS_PER_YEAR: Mapping[str, int] = {"day": 365, "week": 52, "month": 12, "year": 1}


@dataclass(frozen=True)
class RevenueRules:
    """Defaults follow the issue; each field is a documented switch (docs/revenue.md)."""

    counted_statuses: frozenset[str] = frozenset({"active", "past_due"})
    trial_statuses: frozenset[str] = frozenset({"trialing"})
    # False gives "committed MRR": a subscription set to cancel at period end counts 0 at once.
    count_cancel_at_period_end: bool = True
    discount_convention: DiscountConvention = "forever_and_repeating"
    metered_policy: MeteredPolicy = "exclude"
    periods_per_year: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PERIODS_PER_YEAR))
    reporting_currency: str = "usd"
    # Major units of the reporting currency per major unit of the keyed currency.
    fx_rates: Mapping[str, Decimal] = field(default_factory=dict)
    # Plan name by price id, price lookup_key or product id (first match wins), then metadata.
    plan_mapping: Mapping[str, str] = field(default_factory=dict)
    plan_metadata_key: str = "plan"
    free_plan: str = "free"
    # Seat items: these price/product ids, or price/product metadata `seat_metadata_key` = "true".
    seat_price_ids: frozenset[str] = frozenset()
    seat_product_ids: frozenset[str] = frozenset()
    seat_metadata_key: str | None = "seats"
    # With no seat item on a subscription, its licensed per-unit quantities are its seats.
    seats_default_to_licensed_quantity: bool = True

    def __post_init__(self) -> None:
        if self.discount_convention not in DISCOUNT_CONVENTIONS:
            raise ValueError(f"discount_convention must be one of {DISCOUNT_CONVENTIONS}")
        if self.metered_policy not in METERED_POLICIES:
            raise ValueError(f"metered_policy must be one of {METERED_POLICIES}")
        if any(int(v) <= 0 for v in self.periods_per_year.values()):
            raise ValueError("periods_per_year values must be positive integers")
        object.__setattr__(self, "reporting_currency", self.reporting_currency.lower())
        object.__setattr__(self, "fx_rates", parse_rates(self.fx_rates))

    def with_fx_rates(self, rates: Mapping[str, object]) -> RevenueRules:
        """A copy using `rates` (e.g. read from the warehouse FX table)."""
        return replace(self, fx_rates=parse_rates(rates))


DEFAULT_RULES = RevenueRules()

# The predicates below take Python scalars (exact engine) or NumPy arrays (vectorised engine) alike.
ScalarOrArray = Any


def transformed_quantity(quantity: ScalarOrArray, divide_by: ScalarOrArray, round_up: ScalarOrArray) -> ScalarOrArray:
    """Stripe transform_quantity: quantity / divide_by rounded up or down (divide_by 1 = none)."""
    return quantity // divide_by + (round_up & (quantity % divide_by != 0))


def is_in(values: ScalarOrArray, options: frozenset[str]) -> ScalarOrArray:
    """`values in options` for one string or element-wise for an array."""
    return values in options if isinstance(values, str) else np.isin(values, list(options))


def status_counts(status: ScalarOrArray, cancel_at_period_end: ScalarOrArray, rules: RevenueRules) -> ScalarOrArray:
    """Whether a subscription in `status` contributes to MRR."""
    counted = is_in(status, rules.counted_statuses)
    if rules.count_cancel_at_period_end:
        return counted
    return counted & np.logical_not(cancel_at_period_end)


def discount_counts(
    duration: ScalarOrArray,
    start: ScalarOrArray,
    end: ScalarOrArray,
    period_start: ScalarOrArray,
    as_of: float,
    rules: RevenueRules,
) -> ScalarOrArray:
    """Whether a discount reduces MRR at `as_of` (epoch seconds; NaN = missing time).

    forever: always. repeating: unless `forever_only`, while not ended (no `end` = not ended).
    once: only under `all_active`, during the billing period in which it was applied.
    """
    forever = duration == "forever"
    repeating = (duration == "repeating") & (rules.discount_convention != "forever_only")
    repeating_running = repeating & (np.isnan(end) | (end > as_of))
    once_running = (
        (duration == "once")
        & (rules.discount_convention == "all_active")
        & ~np.isnan(start)
        & (np.isnan(period_start) | (start >= period_start))
    )
    return forever | repeating_running | once_running


def rules_for_run(
    reporting_currency: str, configured_rates: Mapping[str, str], fx_rates: pd.DataFrame | None = None
) -> RevenueRules:
    """The revenue rules for a run: docs/revenue.md's defaults, the run's reporting currency, and
    `fx_rates` (the `fx_rates` asset's frame) or else the configured rates."""
    rates = parse_rates(
        configured_rates if fx_rates is None else dict(zip(fx_rates["currency"], fx_rates["rate"], strict=True))
    )
    return RevenueRules(reporting_currency=reporting_currency, fx_rates=rates)
