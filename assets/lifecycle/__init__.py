"""Stripe lifecycle events, sent to Intercom exactly once, and the status they imply.

Derivation (`derive_from_events`, `derive_from_snapshots`) and the state machine
(`subscription_status`, `account_status`) are pure; `EventLedger` keeps what was sent in the state
store and `send_pending` delivers it. The Dagster asset lives in `assets.lifecycle.assets`; the
rules are in docs/lifecycle-events.md.
"""

from assets.lifecycle.collect import Collected, CollectOptions, collect
from assets.lifecycle.from_events import STRIPE_EVENT_TYPES, derive_from_events
from assets.lifecycle.from_snapshots import Snapshot, derive_from_snapshots
from assets.lifecycle.ledger import Cursor, EventLedger, Outgoing
from assets.lifecycle.model import (
    DEFAULT_EVENT_NAMES,
    LifecycleEvent,
    LifecycleType,
    Valuation,
    resolve_event_names,
    utc,
)
from assets.lifecycle.parse import SubscriptionView
from assets.lifecycle.policy import event_name_budget
from assets.lifecycle.send import SendSummary, address, recipients, send_pending
from assets.lifecycle.status import (
    LifecycleStatus,
    SnapshotFields,
    SubscriptionState,
    account_status,
    subscription_status,
)

__all__ = [
    "DEFAULT_EVENT_NAMES",
    "STRIPE_EVENT_TYPES",
    "CollectOptions",
    "Collected",
    "Cursor",
    "EventLedger",
    "LifecycleEvent",
    "LifecycleStatus",
    "LifecycleType",
    "Outgoing",
    "SendSummary",
    "Snapshot",
    "SnapshotFields",
    "SubscriptionState",
    "SubscriptionView",
    "Valuation",
    "account_status",
    "address",
    "collect",
    "derive_from_events",
    "derive_from_snapshots",
    "event_name_budget",
    "recipients",
    "resolve_event_names",
    "send_pending",
    "subscription_status",
    "utc",
]
