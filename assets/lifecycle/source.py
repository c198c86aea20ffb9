"""What lifecycle collection reads from Stripe: a small protocol, so it needs no Dagster resource.

The jobs pass `assets.ingest.stored_reader.StoredStripe` (the stored snapshot and its event log);
any object with these methods does (a replay of stored payloads, a second Stripe account).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class StripeSource(Protocol):
    """Stripe objects as plain dicts, newest first."""

    def list_subscriptions(self) -> Iterable[dict[str, Any]]: ...

    def list_prices(self) -> Iterable[dict[str, Any]]: ...

    def list_products(self) -> Iterable[dict[str, Any]]: ...

    def list_coupons(self) -> Iterable[dict[str, Any]]: ...

    def list_events(self, types: list[str], created_gte: int | None = None) -> Iterable[dict[str, Any]]: ...

    def find_event(self, event_id: str) -> dict[str, Any] | None:
        """The event, or None once Stripe no longer keeps it (30-day retention)."""
        ...
