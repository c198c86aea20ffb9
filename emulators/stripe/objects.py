"""Builders for Stripe objects in the pinned API version's shape (`2026-10-28.endive`).

Each builder is a plain function returning a fresh dict, exactly what the API returns for that
object (minus fields revsync never reads), so the emulator and the demo-world generator share one
definition of every shape. They are cheap (no copies of their inputs, no I/O, no clock, no
randomness): ids and timestamps are always passed in, and anything else is derived from them.

Shape notes that matter to readers of this API version:
- a subscription has no top-level `current_period_*`, `discount`, `plan` or `quantity`; periods live
  on each item, discounts are ids in `discounts`;
- a discount names its coupon in `source.coupon` (an id, expandable);
- a subscription item embeds its full `price`; a price's `tiers` are part of the stored object
  (see `price`) but the API only returns them when expanded, which the emulator handles;
- an invoice names its subscription in `parent.subscription_details.subscription`, and a charge
  reaches its invoice through an `invoice_payment`, not `charge.invoice`.

Builders embed the dicts they are given (a subscription item embeds the `price` dict itself), so a
million subscriptions on a handful of prices share those price dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from emulators.stripe.periods import add_months

StripeObject = dict[str, Any]


def _decimal_string(amount: int | str | None) -> str | None:
    return None if amount is None else str(amount)


def list_object(data: list[StripeObject], url: str, has_more: bool = False) -> StripeObject:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def customer(
    id: str,
    *,
    created: int,
    email: str | None = None,
    name: str | None = None,
    metadata: Mapping[str, str] | None = None,
    default_payment_method: str | None = None,
    currency: str | None = None,
    livemode: bool = False,
) -> StripeObject:
    """`default_payment_method` (e.g. "pm_card_visa") is what lets a trial convert in the emulator."""
    return {
        "id": id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": currency,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "invoice_prefix": id[-8:].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": default_payment_method,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": livemode,
        "metadata": dict(metadata or {}),
        "name": name,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def product(
    id: str,
    *,
    created: int,
    name: str,
    active: bool = True,
    default_price: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
    livemode: bool = False,
) -> StripeObject:
    return {
        "id": id,
        "object": "product",
        "active": active,
        "created": created,
        "default_price": default_price,
        "description": description,
        "images": [],
        "livemode": livemode,
        "marketing_features": [],
        "metadata": dict(metadata or {}),
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": created,
        "url": None,
    }


def tier(
    up_to: int | None,
    *,
    unit_amount: int | str | None = None,
    flat_amount: int | str | None = None,
) -> StripeObject:
    """One price tier; `up_to=None` is the last ("inf") tier. Decimal strings are accepted."""
    unit = None if unit_amount is None or isinstance(unit_amount, str) else unit_amount
    flat = None if flat_amount is None or isinstance(flat_amount, str) else flat_amount
    return {
        "flat_amount": flat,
        "flat_amount_decimal": _decimal_string(flat_amount),
        "unit_amount": unit,
        "unit_amount_decimal": _decimal_string(unit_amount),
        "up_to": up_to,
    }


def price(
    id: str,
    *,
    created: int,
    product: str,
    currency: str = "usd",
    unit_amount: int | None = None,
    unit_amount_decimal: str | None = None,
    interval: str | None = "month",
    interval_count: int = 1,
    usage_type: str = "licensed",
    billing_scheme: str = "per_unit",
    tiers_mode: str | None = None,
    tiers: Iterable[StripeObject] | None = None,
    transform_quantity: Mapping[str, Any] | None = None,
    trial_period_days: int | None = None,
    nickname: str | None = None,
    lookup_key: str | None = None,
    tax_behavior: str = "unspecified",
    active: bool = True,
    metadata: Mapping[str, str] | None = None,
    livemode: bool = False,
) -> StripeObject:
    """A recurring price, or one-time when `interval=None`.

    Tiered prices (`billing_scheme="tiered"`, `tiers_mode` volume|graduated, `tiers` from `tier`)
    carry `tiers` in the returned dict: that is the expanded shape; the emulator strips it from
    responses unless `tiers` is expanded. `transform_quantity` is `{"divide_by": n, "round": "up"|"down"}`.
    """
    if unit_amount_decimal is None and unit_amount is not None:
        unit_amount_decimal = str(unit_amount)
    obj: StripeObject = {
        "id": id,
        "object": "price",
        "active": active,
        "billing_scheme": billing_scheme,
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": livemode,
        "lookup_key": lookup_key,
        "metadata": dict(metadata or {}),
        "nickname": nickname,
        "product": product,
        "recurring": None
        if interval is None
        else {
            "interval": interval,
            "interval_count": interval_count,
            "meter": None,
            "trial_period_days": trial_period_days,
            "usage_type": usage_type,
        },
        "tax_behavior": tax_behavior,
        "tiers_mode": tiers_mode,
        "transform_quantity": dict(transform_quantity) if transform_quantity else None,
        "type": "one_time" if interval is None else "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": unit_amount_decimal,
    }
    if billing_scheme == "tiered":
        obj["tiers"] = list(tiers or [])
    return obj


def coupon(
    id: str,
    *,
    created: int,
    percent_off: float | None = None,
    amount_off: int | None = None,
    currency: str | None = None,
    duration: str = "forever",
    duration_in_months: int | None = None,
    name: str | None = None,
    metadata: Mapping[str, str] | None = None,
    livemode: bool = False,
) -> StripeObject:
    """Exactly one of `percent_off` or `amount_off` (with `currency`); duration once|repeating|forever."""
    return {
        "id": id,
        "object": "coupon",
        "amount_off": amount_off,
        "created": created,
        "currency": currency if amount_off is not None else None,
        "duration": duration,
        "duration_in_months": duration_in_months if duration == "repeating" else None,
        "livemode": livemode,
        "max_redemptions": None,
        "metadata": dict(metadata or {}),
        "name": name,
        "percent_off": percent_off,
        "redeem_by": None,
        "times_redeemed": 0,
        "valid": True,
    }


def discount(
    id: str,
    *,
    coupon: StripeObject,
    start: int,
    customer: str,
    subscription: str | None = None,
    subscription_item: str | None = None,
) -> StripeObject:
    """A coupon applied at `start`; `end` is derived for `repeating` coupons, as Stripe does."""
    months = coupon.get("duration_in_months")
    end = add_months(start, months) if coupon["duration"] == "repeating" and months else None
    return {
        "id": id,
        "object": "discount",
        "checkout_session": None,
        "customer": customer,
        "end": end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": coupon["id"], "type": "coupon"},
        "start": start,
        "subscription": subscription,
        "subscription_item": subscription_item,
    }


def subscription_item(
    id: str,
    *,
    subscription: str,
    price: StripeObject,
    created: int,
    current_period_start: int,
    current_period_end: int,
    quantity: int | None = 1,
    discounts: Iterable[str] = (),
    metadata: Mapping[str, str] | None = None,
) -> StripeObject:
    """`price` is embedded as given (shared, not copied). Metered prices carry no quantity."""
    metered = (price.get("recurring") or {}).get("usage_type") == "metered"
    return {
        "id": id,
        "object": "subscription_item",
        "created": created,
        "current_period_end": current_period_end,
        "current_period_start": current_period_start,
        "discounts": list(discounts),
        "metadata": dict(metadata or {}),
        "price": price,
        "quantity": None if metered else quantity,
        "subscription": subscription,
        "tax_rates": [],
    }


def paused_details(reason: str, transitioned_at: int) -> StripeObject:
    """`status_details` of a paused subscription; reasons e.g. trial_end_without_payment_method."""
    return {"paused": {"transitioned_at": transitioned_at, "type": reason}}


def subscription(
    id: str,
    *,
    customer: str,
    items: list[StripeObject],
    created: int,
    status: str = "active",
    start_date: int | None = None,
    currency: str | None = None,
    trial_start: int | None = None,
    trial_end: int | None = None,
    cancel_at_period_end: bool = False,
    cancel_at: int | None = None,
    canceled_at: int | None = None,
    ended_at: int | None = None,
    cancellation_details: Mapping[str, str | None] | None = None,
    discounts: Iterable[str] = (),
    latest_invoice: str | None = None,
    pause_collection: Mapping[str, Any] | None = None,
    status_details: Mapping[str, Any] | None = None,
    missing_payment_method: str = "create_invoice",
    metadata: Mapping[str, str] | None = None,
    livemode: bool = False,
) -> StripeObject:
    """`items` come from `subscription_item`; `currency` defaults to the first item's price currency.

    `missing_payment_method` is `trial_settings.end_behavior.missing_payment_method`
    (create_invoice|pause|cancel): what happens when a trial ends and the customer has no payment method.
    """
    details = {"comment": None, "feedback": None, "reason": None} | dict(cancellation_details or {})
    return {
        "id": id,
        "object": "subscription",
        "application": None,
        "billing_cycle_anchor": min((i["current_period_start"] for i in items), default=created),
        "billing_mode": {"type": "classic"},
        "cancel_at": cancel_at,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at,
        "cancellation_details": details,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency or (items[0]["price"]["currency"] if items else "usd"),
        "customer": customer,
        "days_until_due": None,
        "default_payment_method": None,
        "description": None,
        "discounts": list(discounts),
        "ended_at": ended_at,
        "items": list_object(items, f"/v1/subscription_items?subscription={id}"),
        "latest_invoice": latest_invoice,
        "livemode": livemode,
        "metadata": dict(metadata or {}),
        "pause_collection": dict(pause_collection) if pause_collection else None,
        "schedule": None,
        "start_date": start_date if start_date is not None else created,
        "status": status,
        "status_details": dict(status_details) if status_details else None,
        "test_clock": None,
        "trial_end": trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": missing_payment_method}},
        "trial_start": trial_start,
    }


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


def event(
    id: str,
    *,
    type: str,
    created: int,
    object: StripeObject,
    api_version: str,
    previous_attributes: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    livemode: bool = False,
) -> StripeObject:
    """`object` must already be a snapshot rendered in `api_version`'s shape (events never change)."""
    data: StripeObject = {"object": object}
    if previous_attributes is not None:
        data["previous_attributes"] = dict(previous_attributes)
    return {
        "id": id,
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": livemode,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": None},
        "type": type,
    }
