"""Which lifecycle events a run has to send: read Stripe, pick the source, drop what was queued.

Three modes:
- incremental: the cursor's event is still in Stripe (30-day retention); events created since the
  cursor (minus a skew, as `created` is only to the second) are derived and de-duplicated by key;
- first_run: no cursor and no snapshot; only events within the look-back are derived;
- reconciliation: the cursor is missing or expired but a snapshot exists; the snapshot is diffed
  with today's subscriptions and the cursor restarts at Stripe's newest event.
Every run also stores today's subscriptions as the snapshot the next reconciliation starts from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from assets.lifecycle.from_events import STRIPE_EVENT_TYPES, derive_from_events
from assets.lifecycle.from_snapshots import Snapshot, derive_from_snapshots
from assets.lifecycle.ledger import Cursor, EventLedger
from assets.lifecycle.model import LifecycleEvent, LifecycleType, utc
from assets.lifecycle.policy import drop_already_sent, keep_mode, within_lookback
from assets.lifecycle.source import StripeSource
from assets.lifecycle.valuation import EngineValuation
from assets.revenue import RevenueError, RevenueRules

EVENT_RETENTION = timedelta(days=30)


@dataclass
class Collected:
    mode: str
    events: list[LifecycleEvent]
    cursor: Cursor | None
    snapshot: tuple[int, list[dict[str, Any]]]
    stripe_events_read: int = 0
    unresolved: list[str] = field(default_factory=list)  # Stripe events about unknown subscriptions
    valuation_errors: list[RevenueError] = field(default_factory=list)


@dataclass(frozen=True)
class CollectOptions:
    now: datetime
    names: dict[LifecycleType, str]
    rules: RevenueRules
    lookback: timedelta
    allow_test_mode: bool
    cursor_skew: timedelta = timedelta(minutes=5)


def _expired(stripe: StripeSource, cursor: Cursor, now: datetime) -> bool:
    """Stripe answers 404 for an event older than its 30-day retention; without an event, the
    cursor's time says it."""
    if cursor.event_id is None:
        return cursor.created < (now - EVENT_RETENTION).timestamp()
    return stripe.find_event(cursor.event_id) is None


def _events(stripe: StripeSource, since: int | None) -> Iterator[dict[str, Any]]:
    """The lifecycle-relevant events, newest first."""
    return iter(stripe.list_events(list(STRIPE_EVENT_TYPES), created_gte=since))


def _newest(events: list[dict[str, Any]]) -> Cursor | None:
    if not events:
        return None
    newest = max(events, key=lambda e: (e["created"], e["id"]))
    return Cursor(newest["id"], newest["created"])


def _keys(events: list[LifecycleEvent]) -> set[str]:
    return {e.key for e in events}


def collect(stripe: StripeSource, ledger: EventLedger, options: CollectOptions) -> Collected:
    """Derive the events not queued yet; nothing is written here."""
    subscriptions = keep_mode(stripe.list_subscriptions(), options.allow_test_mode)
    engine = EngineValuation(
        subscriptions=subscriptions,
        prices={p["id"]: p for p in stripe.list_prices()},
        products={p["id"]: p for p in stripe.list_products()},
        coupons={c["id"]: c for c in stripe.list_coupons()},
        rules=options.rules,
        as_of=options.now,
    )
    valuation = engine.valuation()
    current = Snapshot.from_payloads(int(options.now.timestamp()), subscriptions)
    snapshot = (current.taken_at, subscriptions)
    cursor = ledger.cursor()
    skew = int(options.cursor_skew.total_seconds())
    stale = cursor is None or _expired(stripe, cursor, options.now)
    previous = ledger.snapshot() if stale else None  # only a reconciliation reads the last snapshot

    if previous is not None:
        before = Snapshot.from_payloads(*previous)
        derived = derive_from_snapshots(before, current, names=options.names, valuation=valuation)
        sent_since = utc(before.taken_at - skew)
        events = drop_already_sent(derived, ledger.facts(_keys(derived), since=sent_since), since=sent_since)
        head = next(_events(stripe, None), None)
        restart = Cursor(head["id"], head["created"]) if head else Cursor(None, current.taken_at)
        return Collected("reconciliation", events, restart, snapshot, 0, [], engine.errors)

    first_run = cursor is None
    since = int((options.now - options.lookback).timestamp()) if cursor is None else cursor.created - skew
    listed = list(_events(stripe, since))
    stripe_events = keep_mode(listed, options.allow_test_mode)
    derivation = derive_from_events(
        stripe_events, names=options.names, valuation=valuation, subscriptions=current.subscriptions
    )
    events = derivation.events
    if first_run:
        events = within_lookback(events, options.now, options.lookback)
    events = drop_already_sent(events, ledger.facts(_keys(events)))
    mode = "first_run" if first_run else "incremental"
    new_cursor = _newest(listed) or Cursor(None, current.taken_at)
    return Collected(mode, events, new_cursor, snapshot, len(listed), derivation.unresolved, engine.errors)
