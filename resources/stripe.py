"""Stripe, read through the official SDK pinned to its API version.

The SDK retries connection errors and 5xx (with `max_network_retries`) but never a 429 without
`Stripe-Should-Retry`, so pages are fetched one call at a time under our own pacing and 429
backoff instead of `auto_paging_iter()` (which cannot resume a page after an error).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import stripe
from pydantic import ConfigDict, Field, PrivateAttr, field_validator

from resources.setting_checks import http_url

PAGE_SIZE = 100
# Expansions on the subscription list. `data.` counts as a level and Stripe stops at four, so
# prices' tiers and products are listed separately and joined in memory.
SUBSCRIPTION_EXPAND = ["data.customer", "data.discounts", "data.items.data.discounts"]


class StripeRateLimited(RuntimeError):
    """Stripe kept answering 429 after every retry."""


class StripeResource(dg.ConfigurableResource):
    """Stripe API access: the official `StripeClient`, pinned to the SDK's API version."""

    model_config = ConfigDict(hide_input_in_errors=True)  # a bad value may be (or hold) a secret

    api_key: str = Field(repr=False, description="Secret or restricted key (read access suffices). Use an EnvVar.")
    base_url: str | None = Field(default=None, description="API address override, e.g. the local emulator.")
    max_network_retries: int = Field(default=3, description="SDK retries of connection errors and 5xx.")
    requests_per_second: float = Field(default=20.0, description="Pacing below Stripe's 25/s per endpoint.")
    max_rate_limit_retries: int = Field(default=8, description="Retries of a page answered with 429.")

    _client: stripe.StripeClient | None = PrivateAttr(default=None)
    _last_call: float = PrivateAttr(default=0.0)

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return value if value is None or isinstance(value, dg.EnvVar) else http_url("STRIPE_BASE_URL", value)

    @property
    def api_version(self) -> str:
        return stripe.api_version

    def client(self) -> stripe.StripeClient:
        if self._client is None:
            base = {"api": self.base_url} if self.base_url else None
            self._client = stripe.StripeClient(
                self.api_key,
                base_addresses=base,  # type: ignore[arg-type]
                stripe_version=stripe.api_version,
                max_network_retries=self.max_network_retries,
            )
        return self._client

    def _paced(self, call: Callable[[], Any]) -> Any:
        """One API call, spaced by the pacing interval, with backoff on 429."""
        for attempt in range(self.max_rate_limit_retries + 1):
            wait = self._last_call + 1.0 / self.requests_per_second - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_call = time.monotonic()
            try:
                return call()
            except stripe.RateLimitError:
                if attempt == self.max_rate_limit_retries:
                    break
                time.sleep(min(0.5 * 2**attempt, 8.0) * random.uniform(0.5, 1.0))
        raise StripeRateLimited(f"Stripe answered 429 {self.max_rate_limit_retries + 1} times in a row")

    def iter_list(self, service: Any, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every object of a list endpoint as plain dicts, newest first, page by page."""
        cursor: str | None = None
        while True:
            page_params = {**params, "limit": PAGE_SIZE}
            if cursor:
                page_params["starting_after"] = cursor
            page = self._paced(lambda p=page_params: service.list(p))
            objects = [obj.to_dict() for obj in page.data]
            yield from objects
            if not page.has_more or not objects:
                return
            cursor = objects[-1]["id"]

    def list_subscriptions(self) -> Iterator[dict[str, Any]]:
        """All subscriptions, canceled included, with customer and discounts expanded, and every item."""
        for subscription in self.iter_list(
            self.client().v1.subscriptions, {"status": "all", "expand": SUBSCRIPTION_EXPAND}
        ):
            yield self.with_all_items(subscription)

    def with_all_items(self, subscription: dict[str, Any]) -> dict[str, Any]:
        """The subscription with every item: when its embedded `items` has `has_more`, the rest are
        listed from /v1/subscription_items, so revenue is never computed on a partial list."""
        items = subscription.get("items") or {}
        if not items.get("has_more"):
            return subscription
        listed = self.iter_list(
            self.client().v1.subscription_items, {"subscription": subscription["id"], "expand": ["data.discounts"]}
        )
        return {**subscription, "items": {**items, "data": list(listed), "has_more": False}}

    def list_prices(self) -> Iterator[dict[str, Any]]:
        """All prices with their tiers (tiers are only returned when expanded)."""
        return self.iter_list(self.client().v1.prices, {"expand": ["data.tiers"]})

    def list_products(self) -> Iterator[dict[str, Any]]:
        return self.iter_list(self.client().v1.products, {})

    def list_coupons(self) -> Iterator[dict[str, Any]]:
        return self.iter_list(self.client().v1.coupons, {})

    def list_customers(self) -> Iterator[dict[str, Any]]:
        return self.iter_list(self.client().v1.customers, {})

    def list_events(self, types: list[str], created_gte: int | None = None) -> Iterator[dict[str, Any]]:
        """Events of these types (newest first), optionally only those created at or after a time."""
        params: dict[str, Any] = {"types": types}
        if created_gte is not None:
            params["created"] = {"gte": created_gte}
        return self.iter_list(self.client().v1.events, params)

    def retrieve_event(self, event_id: str) -> dict[str, Any]:
        """One event; raises `stripe.InvalidRequestError` (404) once Stripe no longer keeps it."""
        return self._paced(lambda: self.client().v1.events.retrieve(event_id)).to_dict()
