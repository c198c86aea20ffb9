"""Stripe as the stored snapshot shows it: what later stages read instead of listing Stripe again.

The lifecycle events read subscriptions, prices, products, coupons and events through the
`StripeSource` protocol (assets/lifecycle/source.py); `StoredStripe` answers it from the snapshot
and the event log the ingest committed this run. Events older than the log (a first run's look-back, or a lifecycle
cursor from before the log began) come from Stripe itself, lazily, so a run that needs none makes
no call.

Plain Python: a store and a live reader in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assets.ingest.stored_form import with_prices
from assets.ingest.stripe_store import IngestCursor, StripeSnapshotStore
from assets.ingest.stripe_sync import LOGGED_EVENT_TYPES
from resources.stripe_reader import StripeReader

StripeObject = dict[str, Any]


class SnapshotMissing(RuntimeError):
    """The stored snapshot has not been taken yet (materialize `stripe_snapshot` first)."""


class StoredStripe:
    def __init__(self, store: StripeSnapshotStore, live: StripeReader) -> None:
        self.store, self.live = store, live

    def _cursor(self) -> IngestCursor:
        cursor = self.store.cursor()
        if cursor is None:
            raise SnapshotMissing("no stored Stripe snapshot yet: materialize the stripe_snapshot asset first")
        return cursor

    def list_subscriptions(self) -> Iterator[StripeObject]:
        """Every stored subscription with its prices joined, streamed from the database."""
        self._cursor()
        prices = self.store.load("price")
        return (with_prices(s, prices) for s in self.store.iter_payloads("subscription"))

    def list_prices(self) -> list[StripeObject]:
        return list(self.store.load("price").values())

    def list_products(self) -> list[StripeObject]:
        return list(self.store.load("product").values())

    def list_coupons(self) -> list[StripeObject]:
        return list(self.store.load("coupon").values())

    def list_events(self, types: list[str], created_gte: int | None = None) -> Iterator[StripeObject]:
        """Events of these types created at or after `created_gte`, newest first: the log's, then
        (only if iterated that far) Stripe's from before the log began."""
        unlogged = sorted(set(types) - set(LOGGED_EVENT_TYPES))
        if unlogged:
            raise ValueError(f"the ingest does not log Stripe events {unlogged}; add them to LOGGED_EVENT_TYPES")
        covers_from = self._cursor().covers_from
        since = covers_from if created_gte is None else max(created_gte, covers_from)
        yield from self.store.logged_events(types, created_gte=since)
        if created_gte is None or created_gte < covers_from:
            yield from self.live.list_events(types, created_gte, created_lt=covers_from)

    def find_event(self, event_id: str) -> StripeObject | None:
        """The logged event, else Stripe's (None beyond its 30-day retention)."""
        return self.store.logged_event(event_id) or self.live.find_event(event_id)
