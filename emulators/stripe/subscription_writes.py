"""The subscription write endpoints of the Stripe emulator (create, update, cancel, resume), each
emitting its event; the parameter coercion they share is in emulators/stripe/writes.py."""

from __future__ import annotations

from typing import Any

from emulators.stripe import billing, objects
from emulators.stripe.errors import invalid, missing_param, no_such
from emulators.stripe.periods import days
from emulators.stripe.state import StripeState
from emulators.stripe.store import clone
from emulators.stripe.writes import Params, StripeObject, bool_param, int_param, lookup, merge_metadata, required_param


def _discount_ids(
    state: StripeState, raw: Any, *, customer: str, subscription: str, item: str | None = None, param: str
) -> list[str]:
    """`discounts[i][coupon]` creates a discount; `discounts[i][discount]` reuses one."""
    ids = []
    for i, entry in enumerate(raw or []):
        if entry.get("discount"):
            ids.append(lookup(state, "discount", entry["discount"], f"{param}[{i}][discount]")["id"])
            continue
        coupon = lookup(state, "coupon", entry.get("coupon"), f"{param}[{i}][coupon]")
        discount = objects.discount(
            state.new_id("di"),
            coupon=coupon,
            start=state.now,
            customer=customer,
            subscription=subscription,
            subscription_item=item,
        )
        ids.append(state.insert("discount", discount)["id"])
    return ids


def _new_item(
    state: StripeState, sub_id: str, customer: str, raw: Params, param: str, start: int, end: int
) -> StripeObject:
    price = lookup(state, "price", raw.get("price"), f"{param}[price]")
    if price["recurring"] is None:
        raise invalid(
            "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
            f"{param}[price]",
        )
    item_id = state.new_id("si")
    return objects.subscription_item(
        item_id,
        subscription=sub_id,
        price=price,
        created=state.now,
        current_period_start=start,
        current_period_end=end,
        quantity=int_param(raw, "quantity", 1),
        discounts=_discount_ids(
            state,
            raw.get("discounts"),
            customer=customer,
            subscription=sub_id,
            item=item_id,
            param=f"{param}[discounts]",
        ),
        metadata=merge_metadata({}, raw.get("metadata")),
    )


def _trial_end(state: StripeState, params: Params, items: list[StripeObject]) -> int | None:
    if params.get("trial_end") == "now":
        return None
    trial_end = int_param(params, "trial_end")
    if trial_end is not None:
        if trial_end <= state.now:
            raise invalid("Invalid timestamp: must be an integer Unix timestamp in the future.", "trial_end")
        return trial_end
    trial_days = int_param(params, "trial_period_days")
    if trial_days is None and bool_param(params, "trial_from_plan"):
        trial_days = items[0]["price"]["recurring"]["trial_period_days"]
    return state.now + days(trial_days) if trial_days else None


def create_subscription(state: StripeState, params: Params) -> StripeObject:
    customer = lookup(state, "customer", required_param(params, "customer"), "customer")
    raw_items = params.get("items") or []
    if not raw_items:
        raise missing_param("items")
    sub_id = state.new_id("sub")
    now = state.now
    items = [_new_item(state, sub_id, customer["id"], raw, f"items[{i}]", now, now) for i, raw in enumerate(raw_items)]
    trial_end = _trial_end(state, params, items)
    sub = objects.subscription(
        sub_id,
        customer=customer["id"],
        items=items,
        created=now,
        status="trialing" if trial_end else "active",
        trial_start=now if trial_end else None,
        trial_end=trial_end,
        cancel_at_period_end=bool(bool_param(params, "cancel_at_period_end")),
        cancel_at=int_param(params, "cancel_at"),
        discounts=_discount_ids(
            state, params.get("discounts"), customer=customer["id"], subscription=sub_id, param="discounts"
        ),
        missing_payment_method=((params.get("trial_settings") or {}).get("end_behavior") or {}).get(
            "missing_payment_method", "create_invoice"
        ),
        metadata=merge_metadata({}, params.get("metadata")),
        livemode=state.livemode,
    )
    if sub["cancel_at_period_end"] or sub["cancel_at"]:
        sub["canceled_at"] = now
        sub["cancellation_details"]["reason"] = "cancellation_requested"
    billing.start_periods(sub, now)
    if trial_end:
        for item in items:
            item["current_period_end"] = trial_end
    invoice = billing.invoice_subscription(state, sub, "subscription_create")
    sub["latest_invoice"] = invoice["id"]
    state.insert("subscription", sub)
    state.emit("customer.subscription.created", "subscription", sub)
    if not billing.collect(state, invoice, retries=False):
        incomplete = clone(sub) | {"status": "incomplete"}
        billing.save_and_announce(state, incomplete, sub)
        return incomplete
    if trial_end and trial_end - now <= days(state.billing.trial_will_end_days):
        state.trial_will_end_sent.add(sub_id)
        state.emit("customer.subscription.trial_will_end", "subscription", sub)
        state.schedule(sub)
    return sub


def _update_items(state: StripeState, new: StripeObject, raw_items: list[Params]) -> bool:
    """Apply `items[i]` changes; True when the billing interval changed (which restarts the cycle)."""
    items = new["items"]["data"]
    by_id = {item["id"]: item for item in items}
    intervals = {(i["price"]["recurring"]["interval"], i["price"]["recurring"]["interval_count"]) for i in items}
    period = (items[0]["current_period_start"], items[0]["current_period_end"])
    for i, raw in enumerate(raw_items):
        param = f"items[{i}]"
        if not raw.get("id"):
            items.append(_new_item(state, new["id"], new["customer"], raw, param, *period))
            continue
        item = by_id.get(raw["id"])
        if item is None:
            raise no_such("subscription_item", raw["id"], param=f"{param}[id]")
        if bool_param(raw, "deleted"):
            items.remove(item)
            continue
        if raw.get("price"):
            item["price"] = lookup(state, "price", raw["price"], f"{param}[price]")
        if raw.get("quantity") is not None:
            item["quantity"] = int_param(raw, "quantity")
        if "metadata" in raw:
            item["metadata"] = merge_metadata(item["metadata"], raw["metadata"])
    if not items:
        raise invalid("A subscription must have at least one active plan.", "items")
    new_intervals = {(i["price"]["recurring"]["interval"], i["price"]["recurring"]["interval_count"]) for i in items}
    return new_intervals != intervals


def _set_cancellation(state: StripeState, new: StripeObject, params: Params) -> None:
    at_period_end = bool_param(params, "cancel_at_period_end")
    if at_period_end is not None:
        new["cancel_at_period_end"] = at_period_end
    if "cancel_at" in params:
        new["cancel_at"] = int_param(params, "cancel_at")
    scheduled = new["cancel_at_period_end"] or new["cancel_at"] is not None
    new["canceled_at"] = state.now if scheduled else None
    new["cancellation_details"]["reason"] = "cancellation_requested" if scheduled else None
    details = params.get("cancellation_details") or {}
    for field in ("comment", "feedback"):
        if field in details:
            new["cancellation_details"][field] = details[field] or None


def update_subscription(state: StripeState, sub_id: str, params: Params) -> StripeObject:
    old = lookup(state, "subscription", sub_id, "")
    if old["status"] in ("canceled", "incomplete_expired"):
        raise invalid("A canceled subscription can only update its cancellation_details and metadata.")
    new = clone(old)
    cycle_reset = _update_items(state, new, params.get("items") or [])
    if {"cancel_at_period_end", "cancel_at", "cancellation_details"} & params.keys():
        _set_cancellation(state, new, params)
    if "metadata" in params:
        new["metadata"] = merge_metadata(new["metadata"], params["metadata"])
    if "discounts" in params:
        new["discounts"] = _discount_ids(
            state, params["discounts"] or [], customer=new["customer"], subscription=sub_id, param="discounts"
        )
    if "pause_collection" in params:
        pause = params["pause_collection"]
        new["pause_collection"] = (
            {"behavior": required_param(pause, "behavior"), "resumes_at": int_param(pause, "resumes_at")}
            if pause
            else None
        )
    trial_end = params.get("trial_end")
    if trial_end == "now" and old["status"] == "trialing":
        billing.end_trial(state, old, new, "subscription_update")
        return state.fetch("subscription", sub_id) or new
    if trial_end and trial_end != "now" and old["status"] == "trialing":
        new["trial_end"] = int_param(params, "trial_end")
        for item in new["items"]["data"]:
            item["current_period_end"] = new["trial_end"]
    if cycle_reset or params.get("proration_behavior") == "always_invoice":
        if cycle_reset:
            billing.start_periods(new, state.now)
        billing.bill_new_period(state, new, "subscription_update")
    billing.save_and_announce(state, new, old)
    return new


def cancel_subscription(state: StripeState, sub_id: str, params: Params) -> StripeObject:
    sub = lookup(state, "subscription", sub_id, "")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise no_such("subscription", sub_id)
    details = params.get("cancellation_details") or {}
    return billing.cancel(
        state,
        sub,
        ended_at=state.now,
        reason="cancellation_requested",
        comment=details.get("comment") or None,
        feedback=details.get("feedback") or None,
    )


def resume_subscription(state: StripeState, sub_id: str, params: Params) -> StripeObject:
    old = lookup(state, "subscription", sub_id, "")
    if old["status"] != "paused":
        raise invalid("Only paused subscriptions can be resumed.")
    new = clone(old) | {"status": "active", "status_details": None}
    billing.start_periods(new, state.now)
    billing.bill_new_period(state, new, "subscription_update")
    billing.save_and_announce(state, new, old)
    state.emit("customer.subscription.resumed", "subscription", new)
    return new
