"""Builders for the billing documents in the pinned API version's shape: invoices and their lines,
charges, invoice payments and refunds (emulators/stripe/objects.py has the rest and the shape notes).
Like every builder, each is a plain function returning a fresh dict; ids and times are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable

from emulators.stripe.objects import StripeObject, list_object


def invoice_line(
    id: str,
    *,
    invoice: str,
    amount: int,
    currency: str,
    period_start: int,
    period_end: int,
    quantity: int | None,
    description: str | None,
    subscription: str | None = None,
    subscription_item: str | None = None,
    livemode: bool = False,
) -> StripeObject:
    if subscription_item is not None:
        parent = {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
                "subscription_item": subscription_item,
            },
        }
    else:
        parent = None
    return {
        "id": id,
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice,
        "livemode": livemode,
        "metadata": {},
        "parent": parent,
        "period": {"end": period_end, "start": period_start},
        "quantity": quantity,
        "subtotal": amount,
    }


def invoice(
    id: str,
    *,
    customer: str,
    created: int,
    currency: str,
    total: int,
    billing_reason: str,
    status: str = "paid",
    subscription: str | None = None,
    subtotal: int | None = None,
    attempt_count: int = 1,
    period_start: int | None = None,
    period_end: int | None = None,
    lines: list[StripeObject] | None = None,
    discounts: Iterable[str] = (),
    next_payment_attempt: int | None = None,
    livemode: bool = False,
) -> StripeObject:
    """billing_reason: subscription_create|subscription_cycle|subscription_update|manual; status:
    draft|open|paid|uncollectible|void. Paid invoices have `amount_paid == total`."""
    paid = total if status == "paid" else 0
    due = 0 if status == "void" else total
    parent = (
        {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription},
        }
        if subscription
        else None
    )
    return {
        "id": id,
        "object": "invoice",
        "amount_due": due,
        "amount_paid": paid,
        "amount_remaining": due - paid,
        "attempt_count": attempt_count,
        "attempted": attempt_count > 0,
        "auto_advance": status == "open",
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "customer": customer,
        "discounts": list(discounts),
        "effective_at": created,
        "lines": list_object(lines or [], f"/v1/invoices/{id}/lines"),
        "livemode": livemode,
        "metadata": {},
        "next_payment_attempt": next_payment_attempt,
        "number": None,
        "parent": parent,
        "period_end": period_end if period_end is not None else created,
        "period_start": period_start if period_start is not None else created,
        "status": status,
        "status_transitions": {
            "finalized_at": None if status == "draft" else created,
            "marked_uncollectible_at": None,
            "paid_at": created if status == "paid" else None,
            "voided_at": created if status == "void" else None,
        },
        "subtotal": total if subtotal is None else subtotal,
        "total": total,
    }


def charge(
    id: str,
    *,
    amount: int,
    currency: str,
    customer: str,
    created: int,
    payment_intent: str,
    amount_refunded: int = 0,
    livemode: bool = False,
) -> StripeObject:
    return {
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "captured": True,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": None,
        "disputed": False,
        "failure_code": None,
        "failure_message": None,
        "livemode": livemode,
        "metadata": {},
        "paid": True,
        "payment_intent": payment_intent,
        "refunded": amount_refunded >= amount,
        "status": "succeeded",
    }


def invoice_payment(
    id: str,
    *,
    invoice: str,
    payment_intent: str,
    amount: int,
    currency: str,
    created: int,
    livemode: bool = False,
) -> StripeObject:
    """The link from an invoice to the payment (and so the charge) that paid it."""
    return {
        "id": id,
        "object": "invoice_payment",
        "amount_paid": amount,
        "amount_requested": amount,
        "created": created,
        "currency": currency,
        "invoice": invoice,
        "is_default": True,
        "livemode": livemode,
        "payment": {"type": "payment_intent", "payment_intent": payment_intent},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": created},
    }


def refund(
    id: str, *, charge: str, amount: int, currency: str, created: int, reason: str | None = None
) -> StripeObject:
    return {
        "id": id,
        "object": "refund",
        "amount": amount,
        "charge": charge,
        "created": created,
        "currency": currency,
        "metadata": {},
        "payment_intent": None,
        "reason": reason,
        "status": "succeeded",
    }
