"""Lifecycle events from a batch of Stripe events (`/v1/events`).

Events are replayed oldest first; subscription events go before invoice and charge events of the
same second, because a paid start (subscription event) and the invoice that paid it share one key
and the subscription's reading of it is the more specific one (a trial conversion, not a renewal).
A first purchase is read from its paid `subscription_create` invoice, not from
`customer.subscription.created`: a subscription is created before its first payment is known.

Pure: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from assets.lifecycle.model import (
    LifecycleEvent,
    LifecycleType,
    Valuation,
    money,
    subscription_metadata,
    utc,
)
from assets.lifecycle.parse import SubscriptionView, apply_previous, invoice_subscription_id, object_id
from assets.lifecycle.rules import billing_issue_key, paid_invoice_key, subscription_transitions
from assets.revenue import Money

SUBSCRIPTION_CREATED = "customer.subscription.created"
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
INVOICE_PAID = "invoice.paid"
INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
REFUND_CREATED = "refund.created"
CHARGE_REFUNDED = "charge.refunded"

# The `types` filter for `/v1/events` (at most 20 names).
STRIPE_EVENT_TYPES: tuple[str, ...] = (
    SUBSCRIPTION_CREATED,
    SUBSCRIPTION_UPDATED,
    SUBSCRIPTION_DELETED,
    INVOICE_PAID,
    INVOICE_PAYMENT_FAILED,
    REFUND_CREATED,
    CHARGE_REFUNDED,
)

StripeEvent = Mapping[str, Any]


@dataclass
class Derivation:
    events: list[LifecycleEvent] = field(default_factory=list)
    # Stripe event ids about a subscription that neither the batch nor `subscriptions` knew.
    unresolved: list[str] = field(default_factory=list)


def _replay_order(event: StripeEvent) -> tuple[int, int, str]:
    kind = str(event.get("type", ""))
    rank = 0 if kind.startswith("customer.subscription.") else 1 if kind == REFUND_CREATED else 2
    return (int(event["created"]), rank, str(event["id"]))


def _before_deletion(deleted: Mapping[str, Any], after: SubscriptionView) -> SubscriptionView:
    """`customer.subscription.deleted` has no previous_attributes: it was running until it ended,
    in its trial if the trial had not ended yet; its cancel flags are unchanged."""
    trialing = after.trial_end is not None and after.ended_at is not None and after.ended_at < after.trial_end
    return SubscriptionView.from_payload({**deleted, "status": "trialing" if trialing else "active", "ended_at": None})


class _Replay:
    def __init__(
        self, names: Mapping[LifecycleType, str], valuation: Valuation, subscriptions: Mapping[str, SubscriptionView]
    ):
        self.names = names
        self.valuation = valuation
        # Read, not copied: the current subscriptions may be parsed lazily, one per lookup.
        self.current = subscriptions
        self.replayed: dict[str, SubscriptionView] = {}
        self.out = Derivation()
        self._keys: set[str] = set()
        # charge id -> reasons of refunds whose charge.refunded has not come yet, oldest first
        self._refund_reasons: dict[str, deque[str | None]] = defaultdict(deque)

    def emit(
        self,
        stripe_event: StripeEvent,
        event_type: LifecycleType,
        key: str,
        customer_id: str,
        subscription_id: str | None,
        metadata: dict[str, Any],
        reason: str | None = None,
    ) -> None:
        if key in self._keys:
            return
        self._keys.add(key)
        self.out.events.append(
            LifecycleEvent(
                key=key,
                type=event_type,
                name=self.names[event_type],
                customer_id=customer_id,
                subscription_id=subscription_id,
                occurred_at=utc(int(stripe_event["created"])),
                metadata=metadata,
                reason=reason,
                stripe_event_id=stripe_event["id"],
                livemode=bool(stripe_event.get("livemode")),
            )
        )

    def subscription_event(self, stripe_event: StripeEvent) -> None:
        data = stripe_event["data"]
        after = SubscriptionView.from_payload(data["object"])
        if stripe_event["type"] == SUBSCRIPTION_CREATED:
            before = None
        elif stripe_event["type"] == SUBSCRIPTION_DELETED:
            before = _before_deletion(data["object"], after)
        else:
            before = SubscriptionView.from_payload(
                apply_previous(data["object"], data.get("previous_attributes") or {})
            )
        for t in subscription_transitions(before, after, self.valuation.mrr, stamp=stripe_event["id"]):
            if t.type is LifecycleType.INITIAL_PURCHASE and before is None:
                continue  # the paid subscription_create invoice says whether it was bought
            metadata = subscription_metadata(t.type, before, after, self.valuation, t.reason)
            self.emit(stripe_event, t.type, t.key, after.customer_id, after.id, metadata, t.reason)
        self.replayed[after.id] = after

    def invoice_event(self, stripe_event: StripeEvent) -> None:
        invoice = stripe_event["data"]["object"]
        customer_id = object_id(invoice.get("customer")) or ""
        subscription_id = invoice_subscription_id(invoice)
        paid = stripe_event["type"] == INVOICE_PAID
        if subscription_id is None:
            if paid and invoice.get("amount_paid", 0) > 0:
                self.emit(
                    stripe_event,
                    LifecycleType.NON_SUBSCRIPTION_PURCHASE,
                    paid_invoice_key(invoice["id"]),
                    customer_id,
                    None,
                    _purchase_metadata(invoice),
                )
            return
        reason = invoice.get("billing_reason")
        if paid and (reason not in ("subscription_create", "subscription_cycle") or invoice.get("amount_paid", 0) <= 0):
            return
        sub = self.replayed.get(subscription_id) or self.current.get(subscription_id)
        if sub is None:
            self.out.unresolved.append(stripe_event["id"])
            return
        if not paid:
            event_type, key = LifecycleType.BILLING_ISSUE, billing_issue_key(invoice["id"])
        elif reason == "subscription_create":
            event_type, key = LifecycleType.INITIAL_PURCHASE, paid_invoice_key(invoice["id"])
        else:
            event_type, key = LifecycleType.RENEWAL, paid_invoice_key(invoice["id"])
        before = None if event_type is LifecycleType.INITIAL_PURCHASE else sub
        metadata = subscription_metadata(event_type, before, sub, self.valuation, None)
        self.emit(stripe_event, event_type, key, customer_id or sub.customer_id, sub.id, metadata)

    def refund_event(self, stripe_event: StripeEvent) -> None:
        refund = stripe_event["data"]["object"]
        self._refund_reasons[object_id(refund.get("charge")) or ""].append(refund.get("reason"))

    def charge_event(self, stripe_event: StripeEvent) -> None:
        charge = stripe_event["data"]["object"]
        previous = (stripe_event["data"].get("previous_attributes") or {}).get("amount_refunded", 0)
        refunded = int(charge.get("amount_refunded") or 0) - int(previous or 0)
        if refunded <= 0:
            return
        # The reason is on the refund (`refund.created`, just before), or in the `charge.refunds` list
        # that API versions before 2022-11-15 embed, newest first.
        refunds = (charge.get("refunds") or {}).get("data") or []
        pending = self._refund_reasons[charge["id"]]
        reason = (pending.popleft() if pending else None) or (refunds[0].get("reason") if refunds else None)
        reason = reason or "unknown"
        metadata = {
            "price": money(Money(refunded, str(charge["currency"]).lower())),
            "reason": reason,
            "charge_id": charge["id"],
        }
        self.emit(
            stripe_event,
            LifecycleType.REFUND,
            f"refund:{stripe_event['id']}",
            object_id(charge.get("customer")) or "",
            None,
            metadata,
            reason,
        )


def _purchase_metadata(invoice: Mapping[str, Any]) -> dict[str, Any]:
    lines = (invoice.get("lines") or {}).get("data") or []
    description = next((line.get("description") for line in lines if line.get("description")), None)
    return {
        "plan": description or "one-off",
        "price": money(Money(int(invoice["amount_paid"]), str(invoice["currency"]).lower())),
        "invoice_id": invoice["id"],
    }


def derive_from_events(
    stripe_events: Iterable[StripeEvent],
    *,
    names: Mapping[LifecycleType, str],
    valuation: Valuation,
    subscriptions: Mapping[str, SubscriptionView] | None = None,
) -> Derivation:
    """Lifecycle events from Stripe events of any API version, one per fact key.

    `subscriptions` are the current subscriptions, for invoices whose subscription has no event in
    the batch (invoice payloads do not carry plan or MRR).
    """
    replay = _Replay(names, valuation, subscriptions or {})
    unique = {e["id"]: e for e in stripe_events}
    for stripe_event in sorted(unique.values(), key=_replay_order):
        kind = stripe_event["type"]
        if kind in (SUBSCRIPTION_CREATED, SUBSCRIPTION_UPDATED, SUBSCRIPTION_DELETED):
            replay.subscription_event(stripe_event)
        elif kind in (INVOICE_PAID, INVOICE_PAYMENT_FAILED):
            replay.invoice_event(stripe_event)
        elif kind == REFUND_CREATED:
            replay.refund_event(stripe_event)
        elif kind == CHARGE_REFUNDED:
            replay.charge_event(stripe_event)
    return replay.out
