"""Lifecycle transitions between two states of one subscription.

Both sources compare a "before" and an "after" view of a subscription: the Events API through
`previous_attributes`, the reconciliation through two daily snapshots. The rules live here once.

A transition's `key` names the fact, not the Stripe event, wherever Stripe gives the fact an
identity, so two sources (or two events) describing the same fact yield one key:
- a paid start (trial conversion, first purchase) and the renewal of the same period share the
  paying invoice's key `invoice:<id>`, so the trial-end invoice is a conversion, never also a renewal;
- a billing issue is keyed by its invoice (`invoice:<id>:failed`): once per failure, not per retry;
- cancellation, uncancellation and expiration carry the subscription's own timestamps.
Facts without an identity (a plan change) use `stamp`: the Stripe event id, or the snapshot pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assets.lifecycle.model import LifecycleType
from assets.lifecycle.parse import SubscriptionView
from assets.revenue import Money

MrrFn = Callable[[SubscriptionView], Money]


@dataclass(frozen=True)
class Transition:
    type: LifecycleType
    key: str
    at: int | None  # the subscription's own record of when it happened, if it keeps one
    reason: str | None = None


def _paid_start(before: SubscriptionView | None, after: SubscriptionView, mrr: MrrFn) -> Transition | None:
    was = before.status if before else None
    if after.status != "active" or was == "active":
        return None
    invoice_key = paid_invoice_key(after.latest_invoice) if after.latest_invoice else None
    if was == "trialing" or (before is None and after.trial_start is not None):
        return Transition(
            LifecycleType.TRIAL_CONVERTED, invoice_key or f"sub:{after.id}:converted:{after.trial_end}", after.trial_end
        )
    if was in (None, "incomplete") and mrr(after).amount_minor > 0:
        return Transition(LifecycleType.INITIAL_PURCHASE, invoice_key or f"sub:{after.id}:purchased", after.start_date)
    return None


def _was_trialing(before: SubscriptionView | None, after: SubscriptionView) -> bool:
    if after.status == "trialing" or (before is not None and before.status == "trialing"):
        return True
    moment = after.canceled_at or after.ended_at
    return after.trial_end is not None and moment is not None and moment < after.trial_end


def _cancellation(before: SubscriptionView | None, after: SubscriptionView, stamp: str) -> Transition | None:
    cancelled_now = after.cancel_scheduled or after.status == "canceled"
    cancelled_before = before is not None and (before.cancel_scheduled or before.terminal)
    # Dunning that runs out ends the subscription without anyone cancelling it: expiration only.
    if not cancelled_now or cancelled_before or after.cancellation_reason == "payment_failed":
        return None
    event_type = LifecycleType.TRIAL_CANCELLED if _was_trialing(before, after) else LifecycleType.CANCELLATION
    key = f"sub:{after.id}:cancelled:{after.canceled_at or stamp}"
    return Transition(event_type, key, after.canceled_at, after.cancellation_reason)


def _uncancellation(before: SubscriptionView | None, after: SubscriptionView, stamp: str) -> Transition | None:
    if before is None or not before.cancel_scheduled or after.cancel_scheduled or after.terminal:
        return None
    return Transition(LifecycleType.UNCANCELLATION, f"sub:{after.id}:uncancelled:{before.canceled_at or stamp}", None)


def _expiration(before: SubscriptionView | None, after: SubscriptionView, stamp: str) -> Transition | None:
    if not after.terminal or (before is not None and before.terminal):
        return None
    reason = "payment_failed" if after.status in ("unpaid", "incomplete_expired") else after.cancellation_reason
    # Keyed by the last invoice so unpaid -> canceled (two terminal statuses) expires once.
    key = f"sub:{after.id}:expired:{after.latest_invoice or after.ended_at or stamp}"
    return Transition(LifecycleType.EXPIRATION, key, after.ended_at, reason)


def _billing_issue(before: SubscriptionView | None, after: SubscriptionView, stamp: str) -> Transition | None:
    if after.status != "past_due" or (before is not None and before.status == "past_due"):
        return None
    key = billing_issue_key(after.latest_invoice) if after.latest_invoice else f"sub:{after.id}:past_due:{stamp}"
    return Transition(LifecycleType.BILLING_ISSUE, key, None)


def _plan_change(before: SubscriptionView | None, after: SubscriptionView, mrr: MrrFn, stamp: str) -> Transition | None:
    if before is None or before.terminal or after.terminal or before.price_ids == after.price_ids:
        return None
    old, new = mrr(before), mrr(after)
    delta = new.amount_minor - old.amount_minor if old.currency == new.currency else 0
    if delta > 0:
        event_type = LifecycleType.PLAN_UPGRADED
    elif delta < 0:
        event_type = LifecycleType.PLAN_DOWNGRADED
    else:
        event_type = LifecycleType.PRODUCT_CHANGE
    return Transition(event_type, f"sub:{after.id}:plan:{stamp}", None)


def _trial_start(before: SubscriptionView | None, after: SubscriptionView) -> Transition | None:
    if after.trial_start is None or after.status == "incomplete":
        return None
    if before is not None and before.trial_start == after.trial_start:
        return None
    return Transition(LifecycleType.TRIAL_STARTED, f"sub:{after.id}:trial:{after.trial_start}", after.trial_start)


def billing_issue_key(invoice_id: str) -> str:
    return f"invoice:{invoice_id}:failed"


def paid_invoice_key(invoice_id: str) -> str:
    return f"invoice:{invoice_id}"


def subscription_transitions(
    before: SubscriptionView | None, after: SubscriptionView, mrr: MrrFn, stamp: str
) -> list[Transition]:
    """What happened to a subscription between `before` (None: it did not exist) and `after`.

    Renewals are not state changes of the subscription's own fields that both sources see alike:
    the Events API reports them as paid invoices, the snapshot diff as an advanced period.
    """
    found = (
        _trial_start(before, after),
        _paid_start(before, after, mrr),
        _cancellation(before, after, stamp),
        _uncancellation(before, after, stamp),
        _billing_issue(before, after, stamp),
        _plan_change(before, after, mrr, stamp),
        _expiration(before, after, stamp),
    )
    return [t for t in found if t is not None]
