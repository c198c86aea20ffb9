"""The billing simulation: invoices, payments, trials, renewals, dunning and cancellation.

Everything happens at `state.now`; `advance` walks the clock forward through each subscription's
and open invoice's due time in order, so a jump of a year renews a monthly subscription twelve
times with twelve `invoice.paid` events at the right `created` times. Events emitted here are the
subset of Stripe's that revsync reads (no invoice.created/finalized, no payment_intent.*).
"""

from __future__ import annotations

from typing import Any

from emulators.stripe import objects
from emulators.stripe.amounts import apply_discounts, price_amount, to_minor_units
from emulators.stripe.periods import add_interval, days
from emulators.stripe.state import StripeState
from emulators.stripe.store import clone

StripeObject = dict[str, Any]
_APPROX_SECONDS = {"day": days(1), "week": days(7), "month": days(30), "year": days(365)}


# -- periods ------------------------------------------------------------------------------
def period_end_after(anchor: int, price: StripeObject, after: int) -> int:
    """The first period boundary counted from `anchor` that is later than `after`."""
    recurring = price["recurring"]
    interval, count = recurring["interval"], recurring["interval_count"]
    n = max(1, (after - anchor) // (_APPROX_SECONDS[interval] * count))
    while add_interval(anchor, interval, count, n) <= after:
        n += 1
    while n > 1 and add_interval(anchor, interval, count, n - 1) > after:
        n -= 1
    return add_interval(anchor, interval, count, n)


def start_periods(sub: StripeObject, start: int) -> None:
    """Restart every item's period at `start` (the new billing cycle anchor)."""
    sub["billing_cycle_anchor"] = start
    for item in sub["items"]["data"]:
        item["current_period_start"] = start
        item["current_period_end"] = period_end_after(start, item["price"], start)


def _roll_periods(sub: StripeObject) -> None:
    for item in sub["items"]["data"]:
        end = item["current_period_end"]
        item["current_period_start"] = end
        item["current_period_end"] = period_end_after(sub["billing_cycle_anchor"], item["price"], end)


# -- invoices and payments ----------------------------------------------------------------
def _active_coupons(state: StripeState, discount_ids: list[str], first_invoice: bool) -> list[StripeObject]:
    coupons = []
    for discount_id in discount_ids:
        discount = state.fetch("discount", discount_id)
        if discount is None or (discount["end"] is not None and discount["end"] <= state.now):
            continue
        coupon = state.fetch("coupon", discount["source"]["coupon"])
        if coupon is not None and (coupon["duration"] != "once" or first_invoice):
            coupons.append(coupon)
    return coupons


def invoice_subscription(state: StripeState, sub: StripeObject, billing_reason: str) -> StripeObject:
    """An invoice for the items' current periods (not stored yet: `collect` stores it)."""
    invoice_id = state.new_id("in")
    first = billing_reason == "subscription_create"
    lines = []
    for item in sub["items"]["data"]:
        amount = apply_discounts(
            price_amount(item["price"], item["quantity"]), _active_coupons(state, item["discounts"], first)
        )
        lines.append(
            objects.invoice_line(
                state.new_id("il"),
                invoice=invoice_id,
                amount=to_minor_units(amount),
                currency=sub["currency"],
                period_start=item["current_period_start"],
                period_end=item["current_period_end"],
                quantity=item["quantity"],
                description=f"{item['quantity'] or 0} × {item['price']['nickname'] or item['price']['product']}",
                subscription=sub["id"],
                subscription_item=item["id"],
                livemode=state.livemode,
            )
        )
    subtotal = sum(line["amount"] for line in lines)
    if sub["status"] == "trialing":
        subtotal = 0
        for line in lines:
            line["amount"] = line["subtotal"] = 0
    total = to_minor_units(apply_discounts(subtotal, _active_coupons(state, sub["discounts"], first)))
    items = sub["items"]["data"]
    return objects.invoice(
        invoice_id,
        customer=sub["customer"],
        created=state.now,
        currency=sub["currency"],
        total=total,
        subtotal=subtotal,
        billing_reason=billing_reason,
        status="draft",
        subscription=sub["id"],
        attempt_count=0,
        period_start=min(i["current_period_start"] for i in items),
        period_end=max(i["current_period_end"] for i in items),
        lines=lines,
        discounts=sub["discounts"],
        livemode=state.livemode,
    )


def _mark_paid(state: StripeState, invoice: StripeObject) -> None:
    invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0, next_payment_attempt=None)
    invoice["status_transitions"]["paid_at"] = state.now
    if invoice["total"] <= 0:
        return
    payment_intent = state.new_id("pi")
    state.insert(
        "charge",
        objects.charge(
            state.new_id("ch"),
            amount=invoice["total"],
            currency=invoice["currency"],
            customer=invoice["customer"],
            created=state.now,
            payment_intent=payment_intent,
            livemode=state.livemode,
        ),
    )
    state.insert(
        "invoice_payment",
        objects.invoice_payment(
            state.new_id("inpay"),
            invoice=invoice["id"],
            payment_intent=payment_intent,
            amount=invoice["total"],
            currency=invoice["currency"],
            created=state.now,
            livemode=state.livemode,
        ),
    )


def collect(state: StripeState, invoice: StripeObject, retries: bool = True) -> bool:
    """Finalize and attempt payment; store the invoice and emit invoice.paid or
    invoice.payment_failed. A failure schedules the next retry from the dunning settings."""
    is_new = invoice["id"] not in state.by_kind["invoice"]
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    invoice["status_transitions"]["finalized_at"] = invoice["status_transitions"]["finalized_at"] or state.now
    paid = invoice["total"] <= 0 or invoice["customer"] not in state.failing_customers
    if paid:
        _mark_paid(state, invoice)
    else:
        schedule = state.billing.retry_schedule_days
        retry = invoice["attempt_count"] - 1
        invoice.update(status="open", amount_paid=0, amount_remaining=invoice["amount_due"], auto_advance=True)
        invoice["next_payment_attempt"] = (
            state.now + days(schedule[retry]) if retries and retry < len(schedule) else None
        )
    if is_new:
        state.insert("invoice", invoice)
    else:
        state.replace("invoice", invoice)
    state.emit("invoice.paid" if paid else "invoice.payment_failed", "invoice", invoice)
    return paid


def void_invoice(invoice: StripeObject, status: str, at: int) -> StripeObject:
    """An invoice that is never collected (pause_collection): void, uncollectible or left draft."""
    invoice["status"] = status
    if status == "void":
        invoice.update(amount_due=0, amount_remaining=0)
        invoice["status_transitions"]["voided_at"] = at
    return invoice


# -- subscription transitions -------------------------------------------------------------
def save_and_announce(state: StripeState, new: StripeObject, old: StripeObject) -> None:
    state.replace("subscription", new)
    state.emit("customer.subscription.updated", "subscription", new, old)


def bill_new_period(state: StripeState, new: StripeObject, billing_reason: str) -> None:
    """Invoice `new`'s current periods and set its status from the outcome (not stored yet)."""
    pause = new["pause_collection"]
    invoice = invoice_subscription(state, new, billing_reason)
    new["latest_invoice"] = invoice["id"]
    if pause:
        behavior = {"void": "void", "mark_uncollectible": "uncollectible"}.get(pause["behavior"], "draft")
        state.insert("invoice", void_invoice(invoice, behavior, state.now))
    elif not collect(state, invoice):
        new["status"] = "past_due"


def end_trial(state: StripeState, sub: StripeObject, new: StripeObject, billing_reason: str) -> None:
    """Take `new` (a clone of `sub`, maybe with other changes of the same request) out of trial
    and announce everything as one update of `sub`."""
    new["trial_end"] = state.now
    customer = state.fetch("customer", sub["customer"]) or {}
    has_payment_method = bool((customer.get("invoice_settings") or {}).get("default_payment_method"))
    behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
    if not has_payment_method and behavior == "cancel":
        cancel(state, new, ended_at=state.now, reason=None)
        return
    if not has_payment_method and behavior == "pause":
        new["status"] = "paused"
        new["status_details"] = objects.paused_details("trial_end_without_payment_method", state.now)
        save_and_announce(state, new, sub)
        state.emit("customer.subscription.paused", "subscription", new)
        return
    new["status"] = "active"
    start_periods(new, state.now)
    bill_new_period(state, new, billing_reason)
    save_and_announce(state, new, sub)


def renew(state: StripeState, sub: StripeObject) -> None:
    new = clone(sub)
    _roll_periods(new)
    bill_new_period(state, new, "subscription_cycle")
    save_and_announce(state, new, sub)


def cancel(
    state: StripeState,
    sub: StripeObject,
    *,
    ended_at: int,
    reason: str | None,
    comment: str | None = None,
    feedback: str | None = None,
) -> StripeObject:
    """End the subscription now; `canceled_at` keeps the time a cancellation was requested."""
    new = clone(sub)
    new.update(status="canceled", ended_at=ended_at, canceled_at=sub["canceled_at"] or state.now)
    details = new["cancellation_details"]
    details["reason"] = details["reason"] or reason
    details["comment"] = comment if comment is not None else details["comment"]
    details["feedback"] = feedback if feedback is not None else details["feedback"]
    state.replace("subscription", new)
    state.emit("customer.subscription.deleted", "subscription", new)
    return new


def retry_payment(state: StripeState, invoice: StripeObject) -> None:
    invoice = clone(invoice)
    paid = collect(state, invoice)
    sub_id = (invoice["parent"] or {}).get("subscription_details", {}).get("subscription")
    sub = state.fetch("subscription", sub_id) if sub_id else None
    if sub is None or sub["status"] in ("canceled", "incomplete_expired"):
        return
    if paid and sub["status"] in ("past_due", "unpaid"):
        save_and_announce(state, clone(sub) | {"status": "active"}, sub)
    elif not paid and invoice["next_payment_attempt"] is None:
        final = state.billing.final_action
        if final == "cancel":
            cancel(state, sub, ended_at=state.now, reason="payment_failed")
        elif final == "unpaid":
            save_and_announce(state, clone(sub) | {"status": "unpaid"}, sub)


def process_due(state: StripeState, sub: StripeObject) -> None:
    """Do what is due now for one subscription (see `StripeState.due_at`)."""
    now, status = state.now, sub["status"]
    if status == "trialing":
        if sub["id"] not in state.trial_will_end_sent:
            state.trial_will_end_sent.add(sub["id"])
            state.emit("customer.subscription.trial_will_end", "subscription", sub)
            state.schedule(sub)
        if now >= sub["trial_end"]:
            end_trial(state, sub, clone(sub), "subscription_cycle")
    elif status == "incomplete":
        save_and_announce(state, clone(sub) | {"status": "incomplete_expired"}, sub)
    elif sub["cancel_at"] is not None and now >= sub["cancel_at"]:
        cancel(state, sub, ended_at=sub["cancel_at"], reason="cancellation_requested")
    elif sub["cancel_at_period_end"]:
        cancel(state, sub, ended_at=now, reason="cancellation_requested")
    else:
        renew(state, sub)


def advance(state: StripeState, until: int) -> None:
    """Move the clock to `until`, running everything that falls due on the way, in time order."""
    while (due := state.pop_due(until)) is not None:
        if due["object"] == "invoice":
            retry_payment(state, due)
        else:
            process_due(state, due)
    state.now = max(state.now, until)
