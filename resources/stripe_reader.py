"""The plain Stripe reader: paced, counted reads of one account through the official SDK (no Dagster).

The SDK retries connection errors and 5xx (with `max_network_retries`) but never a 429 without
`Stripe-Should-Retry`, so every call goes through `StripeReader`: it waits for its slot in one
shared request budget (resources/stripe_budget.py) and retries a 429 with the same parameters, so
a page is never lost or read twice. Whole listings are paged concurrently in `created` ranges
(resources/stripe_ranges.py) instead of `auto_paging_iter()` (which cannot resume after an error).

Reads go through the SDK's raw request path (`StripeClient.raw_request`): the same pinned
version, key, network retries and error classes, but the JSON is kept as the SDK decodes it (dicts)
instead of being turned into nested `StripeObject`s and back, which cost ~40 ms of CPU per page of
100 subscriptions, ten times the rest of the call (bench/README.md, "Stripe ingest").
`resources/stripe.py` holds the Dagster resource that configures and builds it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote_plus

import stripe

from resources.stripe_budget import BudgetUsage, RequestBudget
from resources.stripe_ranges import Listing, Page, list_concurrently, pages_concurrently

PAGE_SIZE = 100
# Expansions on the subscription list. `data.` counts as a level and Stripe stops at four, so
# prices' tiers and products are listed separately and joined in memory. Customers are listed on
# their own (with those who have no subscription), so they are not expanded here too.
SUBSCRIPTION_EXPAND = ["data.discounts", "data.items.data.discounts"]
# The same expansions on one retrieved subscription.
SUBSCRIPTION_RETRIEVE_EXPAND = ["discounts", "items.data.discounts"]


class StripeRateLimited(RuntimeError):
    """Stripe kept answering 429 after every retry."""


T = TypeVar("T")


class StripeReader:
    """Paced, counted reads of one Stripe account (plain client; `StripeResource` builds it)."""

    def __init__(
        self,
        client: stripe.StripeClient,
        budget: RequestBudget,
        *,
        max_rate_limit_retries: int = 8,
        max_concurrency: int = 8,
    ) -> None:
        self.client = client
        self.budget = budget
        self.max_rate_limit_retries = max_rate_limit_retries
        self.max_concurrency = max_concurrency

    @property
    def api_version(self) -> str:
        return stripe.api_version

    def usage(self) -> BudgetUsage:
        return self.budget.usage()

    def call(self, endpoint: str, call: Callable[[], T]) -> T:
        """One API call in its budget slot, retried with the same arguments after a 429."""
        for attempt in range(self.max_rate_limit_retries + 1):
            self.budget.acquire(endpoint)
            try:
                return call()
            except stripe.RateLimitError:
                self.budget.note_rate_limited()
                if attempt == self.max_rate_limit_retries:
                    break
                time.sleep(min(0.5 * 2**attempt, 8.0) * random.uniform(0.5, 1.0))
        raise StripeRateLimited(f"Stripe answered 429 {self.max_rate_limit_retries + 1} times in a row")

    def get(self, endpoint: str, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One GET in `endpoint`'s budget slot: the response's JSON as the SDK decoded it (dicts, in
        fact `OrderedDict`s; decimal strings such as `unit_amount_decimal` stay strings)."""
        response = self.call(endpoint, lambda: self.client.raw_request("get", path, **(params or {})))
        data: dict[str, Any] = response.data
        return data

    def page(self, listing: Listing, params: dict[str, Any]) -> Page:
        """One page of a list endpoint, objects as JSON dicts."""
        path = f"/v1/{listing.name}"
        result = self.get(f"GET {path}", path, params)
        return Page(result["data"], bool(result["has_more"]))

    def list_all(self, listings: Iterable[Listing]) -> dict[str, list[dict[str, Any]]]:
        """Every object of each listing, the listings and their `created` ranges read concurrently."""
        return list_concurrently(self.page, listings, max_concurrency=self.max_concurrency, page_size=PAGE_SIZE)

    def iter_pages(self, listings: Iterable[Listing]) -> Iterator[tuple[Listing, list[dict[str, Any]]]]:
        """`list_all`'s pages one at a time as they arrive, for listings too big to hold whole."""
        return pages_concurrently(self.page, listings, max_concurrency=self.max_concurrency, page_size=PAGE_SIZE)

    def iter_list(self, name: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every object of a list endpoint, newest first, one page at a time (lazily)."""
        listing = Listing(name, params, split=False)
        cursor: str | None = None
        while True:
            page_params = {**params, "limit": PAGE_SIZE, **({"starting_after": cursor} if cursor else {})}
            page = self.page(listing, page_params)
            yield from page.data
            if not page.has_more or not page.data:
                return
            cursor = page.data[-1]["id"]

    def retrieve(self, name: str, object_id: str, expand: list[str] | None = None) -> dict[str, Any]:
        """One object; raises `stripe.InvalidRequestError` (404) when Stripe has no such object."""
        path = f"/v1/{name}/{quote_plus(object_id)}"  # as the SDK's services quote an id
        return self.get(f"GET /v1/{name}/{{id}}", path, {"expand": expand} if expand else None)

    def with_all_items(self, subscription: dict[str, Any]) -> dict[str, Any]:
        """The subscription with every item: when its embedded `items` has `has_more`, the rest are
        listed from /v1/subscription_items, so revenue is never computed on a partial list."""
        items = subscription.get("items") or {}
        if not items.get("has_more"):
            return subscription
        listed = self.iter_list(
            "subscription_items", {"subscription": subscription["id"], "expand": ["data.discounts"]}
        )
        return {**subscription, "items": {**items, "data": list(listed), "has_more": False}}

    def find_event(self, event_id: str) -> dict[str, Any] | None:
        """One event, or None once Stripe no longer keeps it (it answers 404 after 30 days)."""
        try:
            return self.retrieve("events", event_id)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise

    def list_events(
        self, types: list[str], created_gte: int | None = None, created_lt: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events of these types (newest first), optionally only those created in [gte, lt)."""
        params: dict[str, Any] = {"types": types}
        created = {k: v for k, v in (("gte", created_gte), ("lt", created_lt)) if v is not None}
        if created:
            params["created"] = created
        return self.iter_list("events", params)
