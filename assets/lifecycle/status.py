"""The `subscription_status` lifecycle state and `expires_at` of a subscription and an account.

States let Intercom filter on where a customer is ("users who cancelled a free trial" is
`subscription_status = trial_cancelled`), which Stripe's own status cannot say: a cancelled
subscription stays `active` or `trialing` until its period or trial ends.

Pure: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from assets.lifecycle.model import utc
from assets.lifecycle.parse import TERMINAL_STATUSES


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    TRIALING = "trialing"
    TRIAL_CANCELLED = "trial_cancelled"
    CANCELLED_PENDING = "cancelled_pending"  # cancelled, still paid up until the period ends
    PAST_DUE = "past_due"
    PAUSED = "paused"
    EXPIRED = "expired"
    FREE = "free"  # no subscription, or one that is worth nothing


# An account with several subscriptions shows the one that gives it the most access.
_ACCOUNT_PRIORITY = (
    SubscriptionState.ACTIVE,
    SubscriptionState.CANCELLED_PENDING,
    SubscriptionState.PAST_DUE,
    SubscriptionState.TRIALING,
    SubscriptionState.TRIAL_CANCELLED,
    SubscriptionState.PAUSED,
    SubscriptionState.FREE,
    SubscriptionState.EXPIRED,
)


@dataclass(frozen=True)
class LifecycleStatus:
    state: SubscriptionState
    expires_at: datetime | None  # when access ends unless the subscription renews or converts


FREE = LifecycleStatus(SubscriptionState.FREE, None)


def _first(*timestamps: int | None) -> datetime | None:
    present = [t for t in timestamps if t is not None]
    return utc(min(present)) if present else None


class StatusFields(Protocol):
    """What the state machine reads: a parsed event payload (`SubscriptionView`) or a snapshot row."""

    @property
    def status(self) -> str: ...
    @property
    def trial_end(self) -> int | None: ...
    @property
    def cancel_at(self) -> int | None: ...
    @property
    def ended_at(self) -> int | None: ...
    @property
    def period_end(self) -> int | None: ...
    @property
    def cancel_scheduled(self) -> bool: ...


@dataclass(frozen=True)
class SnapshotFields:
    """StatusFields of one subscription in the nightly snapshot (epoch seconds)."""

    status: str
    trial_end: int | None
    cancel_at: int | None
    ended_at: int | None
    period_end: int | None
    cancel_at_period_end: bool

    @property
    def cancel_scheduled(self) -> bool:
        return self.status not in TERMINAL_STATUSES and (self.cancel_at_period_end or self.cancel_at is not None)


def subscription_status(sub: StatusFields, mrr_minor: int) -> LifecycleStatus:
    """The lifecycle state of one subscription; `mrr_minor` is its MRR from the revenue engine."""
    if sub.status in ("canceled", "unpaid", "incomplete_expired"):
        return LifecycleStatus(SubscriptionState.EXPIRED, _first(sub.ended_at))
    if sub.status == "paused":
        return LifecycleStatus(SubscriptionState.PAUSED, None)
    if sub.status == "trialing":
        state = SubscriptionState.TRIAL_CANCELLED if sub.cancel_scheduled else SubscriptionState.TRIALING
        return LifecycleStatus(state, _first(sub.trial_end, sub.cancel_at))
    if sub.cancel_scheduled:
        return LifecycleStatus(SubscriptionState.CANCELLED_PENDING, _first(sub.cancel_at, sub.period_end))
    if sub.status in ("past_due", "incomplete"):
        return LifecycleStatus(SubscriptionState.PAST_DUE, _first(sub.period_end))
    if mrr_minor <= 0:
        return FREE
    return LifecycleStatus(SubscriptionState.ACTIVE, _first(sub.period_end))


def account_status(statuses: Iterable[LifecycleStatus]) -> LifecycleStatus:
    """The status shown for an account: its most engaged subscription's; free without any."""
    ranked = sorted(statuses, key=lambda s: _ACCOUNT_PRIORITY.index(s.state))
    return ranked[0] if ranked else FREE
