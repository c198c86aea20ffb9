"""Exact MRR for Stripe subscriptions: the public API of the revenue engine (pure; no Dagster, no httpx).

`subscription_mrr` and `trial_mrr` compute one subscription exactly; `subscriptions_frame`,
`mrr_by_subscription`, `revenue_by_customer` and `revenue_by_account` compute the same over
DataFrames for the pipeline; `mrr_movements` and `revenue_on_day` turn two days of it into the
movement history. Rules and their vendor alternatives: docs/revenue.md.

The history's storage (`history_store.MrrHistory`, `trends.account_trends`) sits on the state store
and is imported from its modules, so importing the engine never loads the store (or Dagster).
The Dagster assets live in `assets.revenue.assets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from assets.revenue.exact import SubscriptionFigures, epoch_seconds, subscription_figures
from assets.revenue.flatten import Flattener
from assets.revenue.frame import Framed, mrr_by_subscription, subscriptions_frame
from assets.revenue.money import Money, currency_exponent
from assets.revenue.movements import MOVEMENTS, history_row, mrr_movements, revenue_on_day
from assets.revenue.records import RevenueError, RevenueRecordError
from assets.revenue.rollup import revenue_by_account, revenue_by_customer
from assets.revenue.rules import DEFAULT_RULES, RevenueRules, rules_for_run

__all__ = [
    "DEFAULT_RULES",
    "MOVEMENTS",
    "Framed",
    "Money",
    "RevenueError",
    "RevenueRecordError",
    "RevenueRules",
    "currency_exponent",
    "history_row",
    "mrr_by_subscription",
    "mrr_movements",
    "revenue_by_account",
    "revenue_by_customer",
    "revenue_on_day",
    "rules_for_run",
    "subscription_mrr",
    "subscriptions_frame",
    "trial_mrr",
]


def _figures(
    subscription: Mapping[str, Any],
    rules: RevenueRules | None,
    as_of: datetime | None,
    coupons: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[SubscriptionFigures, str]:
    rows = Flattener(coupons).rows(subscription)
    return subscription_figures(rows, rules or DEFAULT_RULES, epoch_seconds(as_of)), rows[0].currency


def subscription_mrr(
    subscription: Mapping[str, Any],
    rules: RevenueRules | None = None,
    *,
    as_of: datetime | None = None,
    coupons: Mapping[str, Mapping[str, Any]] | None = None,
) -> Money:
    """MRR of one subscription (a plain dict in the pinned API shape) in its own currency.

    Raises RevenueRecordError (naming the subscription id and field) for data it cannot price.
    `as_of` (default: now, UTC) decides which repeating/once discounts are still running.
    """
    figures, currency = _figures(subscription, rules, as_of, coupons)
    return Money(figures.mrr_minor, currency)


def trial_mrr(
    subscription: Mapping[str, Any],
    rules: RevenueRules | None = None,
    *,
    as_of: datetime | None = None,
    coupons: Mapping[str, Mapping[str, Any]] | None = None,
) -> Money:
    """The MRR a trialing subscription converts at (0 when it is not in a trial status)."""
    figures, currency = _figures(subscription, rules, as_of, coupons)
    return Money(figures.trial_mrr_minor, currency)
