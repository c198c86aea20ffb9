"""Lifecycle events from two subscription snapshots, for when the event cursor is gone.

Stripe keeps events for 30 days. When the cursor is missing or older than that, the last stored
snapshot is compared with today's. A diff misses states that came and went in between (a trial that
started and converted shows as a conversion only) and refunds or one-off purchases, which live on
charges and invoices. Times come from the subscription's own fields where it keeps one
(`trial_start`, `trial_end`, `canceled_at`, `ended_at`, the period start), else the snapshot time.

Pure: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from assets.lifecycle.model import LifecycleEvent, LifecycleType, Valuation, subscription_metadata, utc
from assets.lifecycle.parse import SubscriptionView
from assets.lifecycle.rules import Transition, paid_invoice_key, subscription_transitions


class LazyViews(Mapping[str, SubscriptionView]):
    """Subscription views by id, each parsed on first use: a run that looks up a few subscriptions
    (an incremental one) parses a few, not every subscription there is."""

    def __init__(self, payloads: Iterable[Mapping[str, Any]]) -> None:
        self._payloads = {p["id"]: p for p in payloads}
        self._views: dict[str, SubscriptionView] = {}

    def __getitem__(self, sub_id: str) -> SubscriptionView:
        view = self._views.get(sub_id)
        if view is None:
            view = self._views[sub_id] = SubscriptionView.from_payload(self._payloads[sub_id])
        return view

    def __contains__(self, sub_id: object) -> bool:
        return sub_id in self._payloads  # without parsing

    def __iter__(self) -> Iterator[str]:
        return iter(self._payloads)

    def __len__(self) -> int:
        return len(self._payloads)


@dataclass(frozen=True)
class Snapshot:
    taken_at: int  # Unix seconds
    subscriptions: Mapping[str, SubscriptionView]

    @classmethod
    def from_payloads(cls, taken_at: int, payloads: Iterable[Mapping[str, Any]]) -> Snapshot:
        return cls(taken_at, LazyViews(payloads))


def _renewal(before: SubscriptionView | None, after: SubscriptionView) -> Transition | None:
    """The period advanced while the subscription stayed active: it renewed (and paid)."""
    if before is None or before.status != "active" or after.status != "active":
        return None
    if before.period_start is None or after.period_start is None or after.period_start <= before.period_start:
        return None
    key = (
        paid_invoice_key(after.latest_invoice)
        if after.latest_invoice
        else f"sub:{after.id}:renewed:{after.period_start}"
    )
    return Transition(LifecycleType.RENEWAL, key, after.period_start)


def derive_from_snapshots(
    before: Snapshot,
    after: Snapshot,
    *,
    names: Mapping[LifecycleType, str],
    valuation: Valuation,
) -> list[LifecycleEvent]:
    """Lifecycle events for what changed between two snapshots, timed inside (before, after]."""
    stamp = f"snapshot:{before.taken_at}"
    events: list[LifecycleEvent] = []
    for sub_id in sorted(after.subscriptions):
        new = after.subscriptions[sub_id]
        old = before.subscriptions.get(sub_id)
        found = subscription_transitions(old, new, valuation.mrr, stamp)
        renewal = _renewal(old, new)
        if renewal is not None and renewal.key not in {t.key for t in found}:
            found.append(renewal)
        for t in found:
            at = t.at if t.at is not None and before.taken_at < t.at <= after.taken_at else after.taken_at
            events.append(
                LifecycleEvent(
                    key=t.key,
                    type=t.type,
                    name=names[t.type],
                    customer_id=new.customer_id,
                    subscription_id=new.id,
                    occurred_at=utc(at),
                    metadata=subscription_metadata(t.type, old, new, valuation, t.reason),
                    reason=t.reason,
                    stripe_event_id=None,
                    livemode=new.livemode,
                )
            )
    return events
