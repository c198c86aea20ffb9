"""Subscription lifecycle events for Intercom: the event types, their names and their metadata.

Events are derived from Stripe (`lifecycle_from_events`, `lifecycle_from_snapshots`), filtered
(`lifecycle_policy`) and sent once by the `intercom_lifecycle_events` asset. This module holds what
they share. Default names follow Intercom's recommended style: past-tense verb-noun with hyphens.
See docs/lifecycle-events.md.

Pure: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from assets.lifecycle.parse import SubscriptionView
from assets.revenue import Money


class LifecycleType(StrEnum):
    TRIAL_STARTED = "trial_started"
    TRIAL_CONVERTED = "trial_converted"
    TRIAL_CANCELLED = "trial_cancelled"
    INITIAL_PURCHASE = "initial_purchase"
    RENEWAL = "renewal"
    CANCELLATION = "cancellation"
    UNCANCELLATION = "uncancellation"
    EXPIRATION = "expiration"
    BILLING_ISSUE = "billing_issue"
    PRODUCT_CHANGE = "product_change"
    PLAN_UPGRADED = "plan_upgraded"
    PLAN_DOWNGRADED = "plan_downgraded"
    REFUND = "refund"
    NON_SUBSCRIPTION_PURCHASE = "non_subscription_purchase"


DEFAULT_EVENT_NAMES: Mapping[LifecycleType, str] = {
    LifecycleType.TRIAL_STARTED: "started-trial",
    LifecycleType.TRIAL_CONVERTED: "converted-trial",
    LifecycleType.TRIAL_CANCELLED: "cancelled-trial",
    LifecycleType.INITIAL_PURCHASE: "purchased-subscription",
    LifecycleType.RENEWAL: "renewed-subscription",
    LifecycleType.CANCELLATION: "cancelled-subscription",
    LifecycleType.UNCANCELLATION: "uncancelled-subscription",
    LifecycleType.EXPIRATION: "expired-subscription",
    LifecycleType.BILLING_ISSUE: "had-billing-issue",
    LifecycleType.PRODUCT_CHANGE: "changed-product",
    LifecycleType.PLAN_UPGRADED: "upgraded-plan",
    LifecycleType.PLAN_DOWNGRADED: "downgraded-plan",
    LifecycleType.REFUND: "refunded-charge",
    LifecycleType.NON_SUBSCRIPTION_PURCHASE: "made-purchase",
}

# Intercom keeps the first 10 metadata keys and drops the rest silently, and a key's type is fixed
# at first use, so every event of a type carries exactly these keys. `_date` marks a date key.
_SUBSCRIPTION_KEYS = ("plan", "price", "mrr_before", "mrr_after", "period_end_date", "subscription_id")
_WITH_REASON = (*_SUBSCRIPTION_KEYS, "reason")
METADATA_KEYS: Mapping[LifecycleType, tuple[str, ...]] = {
    **{t: _SUBSCRIPTION_KEYS for t in LifecycleType},
    LifecycleType.TRIAL_CANCELLED: _WITH_REASON,
    LifecycleType.CANCELLATION: _WITH_REASON,
    LifecycleType.EXPIRATION: _WITH_REASON,
    LifecycleType.REFUND: ("price", "reason", "charge_id"),
    LifecycleType.NON_SUBSCRIPTION_PURCHASE: ("plan", "price", "invoice_id"),
}
MAX_METADATA_KEYS = 10


def intercom_name_key(name: str) -> str:
    """How Intercom identifies an event name: case-insensitive, with `.` and `$` read as hyphens."""
    return name.strip().lower().replace(".", "-").replace("$", "-")


def resolve_event_names(overrides: Mapping[str, str] | None = None) -> dict[LifecycleType, str]:
    """The default names with `overrides` (keyed by type value, e.g. "renewal") applied.

    Two types may not share a name: Intercom would merge their events.
    """
    names = dict(DEFAULT_EVENT_NAMES)
    for type_value, name in (overrides or {}).items():
        if not name.strip():
            raise ValueError(f"event name for {type_value!r} is empty")
        names[LifecycleType(type_value)] = name.strip()
    seen: dict[str, LifecycleType] = {}
    for event_type, name in names.items():
        other = seen.setdefault(intercom_name_key(name), event_type)
        if other is not event_type:
            raise ValueError(f"{other.value} and {event_type.value} both map to the Intercom event {name!r}")
    return names


def money(amount: Money) -> dict[str, Any]:
    """Intercom's monetary metadata value."""
    return {"amount": amount.amount_minor, "currency": amount.currency}


def default_plan_name(sub: SubscriptionView) -> str:
    """The main item's price lookup key, nickname or product id, the first that is set."""
    item = sub.main_item
    if item is None:
        return ""
    return item.lookup_key or item.nickname or item.product_id or item.price_id or ""


@dataclass(frozen=True)
class Valuation:
    """How a subscription is valued: MRR from the revenue engine, and the plan's display name."""

    mrr: Callable[[SubscriptionView], Money]
    plan: Callable[[SubscriptionView], str] = default_plan_name


@dataclass(frozen=True)
class LifecycleEvent:
    """One Intercom data event about a Stripe customer.

    `key` identifies the fact (e.g. one key per failed invoice, however often Stripe retried it);
    the ledger sends each key once. `occurred_at` is the Stripe event's own time, so a resend hits
    Intercom's (user, name, created_at) de-duplication.
    """

    key: str
    type: LifecycleType
    name: str
    customer_id: str
    subscription_id: str | None
    occurred_at: datetime
    metadata: Mapping[str, Any]
    reason: str | None
    stripe_event_id: str | None
    livemode: bool

    def __post_init__(self) -> None:
        expected = METADATA_KEYS[self.type]
        if tuple(self.metadata) != expected:
            raise ValueError(f"{self.type.value} metadata keys {tuple(self.metadata)} != {expected}")


def subscription_metadata(
    event_type: LifecycleType,
    before: SubscriptionView | None,
    after: SubscriptionView,
    valuation: Valuation,
    reason: str | None,
) -> dict[str, Any]:
    """Metadata for an event about `after`; `before` is None for a new subscription."""
    item = after.main_item
    unit_amount = item.unit_amount if item and item.unit_amount is not None else 0
    price_currency = (item.currency if item and item.currency else after.currency).lower()
    values: dict[str, Any] = {
        "plan": valuation.plan(after),
        "price": money(Money(unit_amount, price_currency)),
        "mrr_before": money(valuation.mrr(before) if before is not None else Money(0, after.currency)),
        "mrr_after": money(valuation.mrr(after)),
        "period_end_date": after.period_end or 0,
        "subscription_id": after.id,
        "reason": reason or "unknown",
    }
    return {key: values[key] for key in METADATA_KEYS[event_type]}


def utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
