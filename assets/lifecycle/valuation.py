"""MRR and plan of a subscription as the attributes see them: the revenue engine's public frame API.

Event payloads carry less than the nightly subscription list: discount ids instead of discount
objects, prices without tiers, product ids. The current list (discounts expanded), prices, products
and coupons fill that in, exactly as `stripe_subscriptions` joins them. A subscription the engine
cannot price is valued 0 and reported in `errors`, never guessed.

Pure: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from assets.ingest import attach_price_details
from assets.lifecycle.model import Valuation, default_plan_name
from assets.lifecycle.parse import SubscriptionView
from assets.revenue import Money, RevenueError, RevenueRules, mrr_by_subscription, subscriptions_frame

StripeObject = Mapping[str, Any]


def _discount_objects(subscriptions: Iterable[StripeObject]) -> dict[str, StripeObject]:
    """Expanded discounts of the current subscriptions (and their items), by id."""
    found: dict[str, StripeObject] = {}
    for sub in subscriptions:
        items = (sub.get("items") or {}).get("data") or []
        for discount in [*(sub.get("discounts") or []), *(d for i in items for d in i.get("discounts") or [])]:
            if isinstance(discount, Mapping):
                found[discount["id"]] = discount
    return found


class EngineValuation:
    def __init__(
        self,
        *,
        subscriptions: Iterable[StripeObject],
        prices: Mapping[str, dict[str, Any]],
        products: Mapping[str, dict[str, Any]],
        coupons: Mapping[str, Mapping[str, Any]],
        rules: RevenueRules,
        as_of: datetime,
    ) -> None:
        self._discounts = _discount_objects(subscriptions)
        self._prices, self._products, self._coupons = prices, products, coupons
        self._rules, self._as_of = rules, as_of
        self._cache: dict[SubscriptionView, tuple[Money, str]] = {}
        self.errors: list[RevenueError] = []

    def _expanded(self, pinned: Mapping[str, Any]) -> dict[str, Any]:
        def objects(discounts: Iterable[Any]) -> list[Any]:
            return [self._discounts.get(d, d) if isinstance(d, str) else d for d in discounts]

        items = [{**i, "discounts": objects(i.get("discounts") or [])} for i in pinned["items"]["data"]]
        sub = {
            **pinned,
            "discounts": objects(pinned.get("discounts") or []),
            "items": {**pinned["items"], "data": items},
        }
        return attach_price_details(sub, self._prices, self._products)

    def _figures(self, view: SubscriptionView) -> tuple[Money, str]:
        if view not in self._cache:
            items, errors = subscriptions_frame([self._expanded(view.pinned)], self._coupons)
            figures, more = mrr_by_subscription(items, self._rules, self._as_of)
            if errors or more or figures.empty:
                self.errors.extend([*errors, *more])
                self._cache[view] = (Money(0, view.currency), default_plan_name(view))
            else:
                row = figures.iloc[0]
                self._cache[view] = (Money(int(row["mrr_minor"]), str(row["currency"])), str(row["plan"]))
        return self._cache[view]

    def valuation(self) -> Valuation:
        return Valuation(mrr=lambda view: self._figures(view)[0], plan=lambda view: self._figures(view)[1])
