"""The write endpoints Stripe offers that revsync's tests and demo use, each emitting its event.

Parameters arrive decoded (`params.decode`): strings, dicts and lists; "" unsets a field.
"""

from __future__ import annotations

from typing import Any

from emulators.stripe import billing, objects
from emulators.stripe.errors import StripeError, invalid, missing_param, no_such
from emulators.stripe.periods import days
from emulators.stripe.state import StripeState
from emulators.stripe.store import clone

StripeObject = dict[str, Any]
Params = dict[str, Any]


def _created(state: StripeState, kind: str, obj: StripeObject) -> StripeObject:
    """Store a new object and emit its `<kind>.created` event, as Stripe does for every create."""
    state.insert(kind, obj)
    state.emit(f"{kind}.created", kind, obj)
    return obj


# -- parameter coercion -------------------------------------------------------------------


def _int(params: Params, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", name) from None


def _bool(params: Params, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise invalid(f"Invalid boolean: {value}", name)
    return value == "true"


def _required(params: Params, name: str) -> Any:
    if params.get(name) in (None, ""):
        raise missing_param(name)
    return params[name]


def _merge_metadata(current: dict[str, str], update: Any) -> dict[str, str]:
    """Stripe merges metadata keys; an empty value deletes a key, `metadata=""` clears all."""
    if update == "":
        return {}
    merged = dict(current)
    for key, value in (update or {}).items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _lookup(state: StripeState, kind: str, object_id: Any, param: str) -> StripeObject:
    found = state.fetch(kind, object_id) if isinstance(object_id, str) else None
    if found is None:
        raise no_such(kind, str(object_id), param=param)
    return found


# -- customers, catalogue -----------------------------------------------------------------
def create_customer(state: StripeState, params: Params) -> StripeObject:
    payment_method = params.get("payment_method") or (params.get("invoice_settings") or {}).get(
        "default_payment_method"
    )
    customer = objects.customer(
        state.new_id("cus"),
        created=state.now,
        email=params.get("email"),
        name=params.get("name"),
        metadata=_merge_metadata({}, params.get("metadata")),
        default_payment_method=payment_method,
        livemode=state.livemode,
    )
    return _created(state, "customer", customer)


def _relabelled(
    state: StripeState, kind: str, object_id: str, params: Params, fields: tuple[str, ...]
) -> tuple[StripeObject, StripeObject]:
    """(the stored object, a copy with these text fields and its metadata updated; "" clears)."""
    old = _lookup(state, kind, object_id, "")
    new = clone(old)
    for field in fields:
        if field in params:
            new[field] = params[field] or None
    if "metadata" in params:
        new["metadata"] = _merge_metadata(new["metadata"], params["metadata"])
    return old, new


def update_customer(state: StripeState, customer_id: str, params: Params) -> StripeObject:
    old, new = _relabelled(state, "customer", customer_id, params, ("email", "name"))
    default_pm = (params.get("invoice_settings") or {}).get("default_payment_method")
    if default_pm is not None:
        new["invoice_settings"]["default_payment_method"] = default_pm or None
    state.replace("customer", new)
    state.emit("customer.updated", "customer", new, old)
    return new


def create_product(state: StripeState, params: Params) -> StripeObject:
    product_id = params.get("id") or state.new_id("prod")
    if product_id in state.by_kind["product"]:
        raise StripeError(400, "Product already exists.", param="id", code="resource_already_exists")
    product = objects.product(
        product_id,
        created=state.now,
        name=_required(params, "name"),
        active=_bool(params, "active") is not False,
        description=params.get("description"),
        metadata=_merge_metadata({}, params.get("metadata")),
        livemode=state.livemode,
    )
    return _created(state, "product", product)


def update_product(state: StripeState, product_id: str, params: Params) -> StripeObject:
    old, new = _relabelled(state, "product", product_id, params, ("name", "description"))
    if "active" in params:
        new["active"] = _bool(params, "active")
    new["updated"] = state.now
    state.replace("product", new)
    state.emit("product.updated", "product", new, old)
    return new


def update_price(state: StripeState, price_id: str, params: Params) -> StripeObject:
    """Only a price's labels and `active` change; amounts are fixed for life. The stored price is
    updated in place because subscription items embed it and Stripe shows them the current price."""
    price = _lookup(state, "price", price_id, "")
    old = clone(dict(price))  # `clone` shares prices; a dict() copy makes it a real copy
    for field in ("nickname", "lookup_key"):
        if field in params:
            price[field] = params[field] or None
    if "active" in params:
        price["active"] = _bool(params, "active")
    if "metadata" in params:
        price["metadata"] = _merge_metadata(price["metadata"], params["metadata"])
    state.emit("price.updated", "price", price, old)
    return price


def update_coupon(state: StripeState, coupon_id: str, params: Params) -> StripeObject:
    """A coupon's terms are fixed; its name and metadata can change."""
    old, new = _relabelled(state, "coupon", coupon_id, params, ("name",))
    state.replace("coupon", new)
    state.emit("coupon.updated", "coupon", new, old)
    return new


def delete(state: StripeState, kind: str, object_id: str) -> StripeObject:
    """DELETE /v1/customers|products|coupons/{id}: gone from lists and lookups, `<kind>.deleted` emitted.

    A product with prices cannot be deleted (archive it instead), as in Stripe. Discounts already
    made from a deleted coupon keep applying. A lookup of a deleted customer answers
    `{"id", "object": "customer", "deleted": true}`, as Stripe does; its subscriptions are left
    as they were (Stripe cancels them), so a test can hold a live subscription of a deleted customer.
    """
    obj = _lookup(state, kind, object_id, "")
    if kind == "product" and state.by_kind["price"].has_indexed("product", object_id):
        raise invalid("This product cannot be deleted because it has one or more user-created prices.")
    state.remove(kind, object_id)
    if kind == "customer":
        state.deleted_customers.add(object_id)
    state.emit(f"{kind}.deleted", kind, obj)
    return {"id": object_id, "object": kind, "deleted": True}


def _tiers(raw: list[Params]) -> list[StripeObject]:
    tiers = []
    for i, tier in enumerate(raw):
        up_to = tier.get("up_to")
        if up_to is None:
            raise missing_param(f"tiers[{i}][up_to]")
        tiers.append(
            objects.tier(
                None if up_to == "inf" else int(up_to),
                unit_amount=tier.get("unit_amount_decimal") or _int(tier, "unit_amount"),
                flat_amount=tier.get("flat_amount_decimal") or _int(tier, "flat_amount"),
            )
        )
    return tiers


def create_price(state: StripeState, params: Params) -> StripeObject:
    product = _lookup(state, "product", _required(params, "product"), "product")
    recurring = params.get("recurring") or {}
    billing_scheme = params.get("billing_scheme", "per_unit")
    if billing_scheme == "tiered" and not params.get("tiers"):
        raise missing_param("tiers")
    transform = params.get("transform_quantity")
    price = objects.price(
        state.new_id("price"),
        created=state.now,
        product=product["id"],
        currency=_required(params, "currency").lower(),
        unit_amount=_int(params, "unit_amount"),
        unit_amount_decimal=params.get("unit_amount_decimal"),
        interval=recurring.get("interval"),
        interval_count=_int(recurring, "interval_count", 1) or 1,
        usage_type=recurring.get("usage_type", "licensed"),
        billing_scheme=billing_scheme,
        tiers_mode=params.get("tiers_mode"),
        tiers=_tiers(params.get("tiers") or []),
        transform_quantity={"divide_by": int(transform["divide_by"]), "round": transform["round"]}
        if transform
        else None,
        trial_period_days=_int(recurring, "trial_period_days"),
        nickname=params.get("nickname"),
        lookup_key=params.get("lookup_key"),
        metadata=_merge_metadata({}, params.get("metadata")),
        livemode=state.livemode,
    )
    return _created(state, "price", price)


def create_coupon(state: StripeState, params: Params) -> StripeObject:
    percent_off, amount_off = params.get("percent_off"), _int(params, "amount_off")
    if (percent_off is None) == (amount_off is None):
        raise invalid("You must pass exactly one of percent_off or amount_off.", "percent_off")
    if amount_off is not None and not params.get("currency"):
        raise missing_param("currency")
    duration = params.get("duration", "once")
    if duration == "repeating" and params.get("duration_in_months") is None:
        raise missing_param("duration_in_months")
    coupon_id = params.get("id") or state.new_id("coupon").removeprefix("coupon_")
    coupon = objects.coupon(
        coupon_id,
        created=state.now,
        percent_off=float(percent_off) if percent_off is not None else None,
        amount_off=amount_off,
        currency=params.get("currency"),
        duration=duration,
        duration_in_months=_int(params, "duration_in_months"),
        name=params.get("name"),
        metadata=_merge_metadata({}, params.get("metadata")),
        livemode=state.livemode,
    )
    return _created(state, "coupon", coupon)


# -- subscriptions ------------------------------------------------------------------------
def _discount_ids(
    state: StripeState, raw: Any, *, customer: str, subscription: str, item: str | None = None, param: str
) -> list[str]:
    """`discounts[i][coupon]` creates a discount; `discounts[i][discount]` reuses one."""
    ids = []
    for i, entry in enumerate(raw or []):
        if entry.get("discount"):
            ids.append(_lookup(state, "discount", entry["discount"], f"{param}[{i}][discount]")["id"])
            continue
        coupon = _lookup(state, "coupon", entry.get("coupon"), f"{param}[{i}][coupon]")
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
    price = _lookup(state, "price", raw.get("price"), f"{param}[price]")
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
        quantity=_int(raw, "quantity", 1),
        discounts=_discount_ids(
            state,
            raw.get("discounts"),
            customer=customer,
            subscription=sub_id,
            item=item_id,
            param=f"{param}[discounts]",
        ),
        metadata=_merge_metadata({}, raw.get("metadata")),
    )


def _trial_end(state: StripeState, params: Params, items: list[StripeObject]) -> int | None:
    if params.get("trial_end") == "now":
        return None
    trial_end = _int(params, "trial_end")
    if trial_end is not None:
        if trial_end <= state.now:
            raise invalid("Invalid timestamp: must be an integer Unix timestamp in the future.", "trial_end")
        return trial_end
    trial_days = _int(params, "trial_period_days")
    if trial_days is None and _bool(params, "trial_from_plan"):
        trial_days = items[0]["price"]["recurring"]["trial_period_days"]
    return state.now + days(trial_days) if trial_days else None


def create_subscription(state: StripeState, params: Params) -> StripeObject:
    customer = _lookup(state, "customer", _required(params, "customer"), "customer")
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
        cancel_at_period_end=bool(_bool(params, "cancel_at_period_end")),
        cancel_at=_int(params, "cancel_at"),
        discounts=_discount_ids(
            state, params.get("discounts"), customer=customer["id"], subscription=sub_id, param="discounts"
        ),
        missing_payment_method=((params.get("trial_settings") or {}).get("end_behavior") or {}).get(
            "missing_payment_method", "create_invoice"
        ),
        metadata=_merge_metadata({}, params.get("metadata")),
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
        if _bool(raw, "deleted"):
            items.remove(item)
            continue
        if raw.get("price"):
            item["price"] = _lookup(state, "price", raw["price"], f"{param}[price]")
        if raw.get("quantity") is not None:
            item["quantity"] = _int(raw, "quantity")
        if "metadata" in raw:
            item["metadata"] = _merge_metadata(item["metadata"], raw["metadata"])
    if not items:
        raise invalid("A subscription must have at least one active plan.", "items")
    new_intervals = {(i["price"]["recurring"]["interval"], i["price"]["recurring"]["interval_count"]) for i in items}
    return new_intervals != intervals


def _set_cancellation(state: StripeState, new: StripeObject, params: Params) -> None:
    at_period_end = _bool(params, "cancel_at_period_end")
    if at_period_end is not None:
        new["cancel_at_period_end"] = at_period_end
    if "cancel_at" in params:
        new["cancel_at"] = _int(params, "cancel_at")
    scheduled = new["cancel_at_period_end"] or new["cancel_at"] is not None
    new["canceled_at"] = state.now if scheduled else None
    new["cancellation_details"]["reason"] = "cancellation_requested" if scheduled else None
    details = params.get("cancellation_details") or {}
    for field in ("comment", "feedback"):
        if field in details:
            new["cancellation_details"][field] = details[field] or None


def update_subscription(state: StripeState, sub_id: str, params: Params) -> StripeObject:
    old = _lookup(state, "subscription", sub_id, "")
    if old["status"] in ("canceled", "incomplete_expired"):
        raise invalid("A canceled subscription can only update its cancellation_details and metadata.")
    new = clone(old)
    cycle_reset = _update_items(state, new, params.get("items") or [])
    if {"cancel_at_period_end", "cancel_at", "cancellation_details"} & params.keys():
        _set_cancellation(state, new, params)
    if "metadata" in params:
        new["metadata"] = _merge_metadata(new["metadata"], params["metadata"])
    if "discounts" in params:
        new["discounts"] = _discount_ids(
            state, params["discounts"] or [], customer=new["customer"], subscription=sub_id, param="discounts"
        )
    if "pause_collection" in params:
        pause = params["pause_collection"]
        new["pause_collection"] = (
            {"behavior": _required(pause, "behavior"), "resumes_at": _int(pause, "resumes_at")} if pause else None
        )
    trial_end = params.get("trial_end")
    if trial_end == "now" and old["status"] == "trialing":
        billing.end_trial(state, old, new, "subscription_update")
        return state.fetch("subscription", sub_id) or new
    if trial_end and trial_end != "now" and old["status"] == "trialing":
        new["trial_end"] = _int(params, "trial_end")
        for item in new["items"]["data"]:
            item["current_period_end"] = new["trial_end"]
    if cycle_reset or params.get("proration_behavior") == "always_invoice":
        if cycle_reset:
            billing.start_periods(new, state.now)
        billing.bill_new_period(state, new, "subscription_update")
    billing.save_and_announce(state, new, old)
    return new


def cancel_subscription(state: StripeState, sub_id: str, params: Params) -> StripeObject:
    sub = _lookup(state, "subscription", sub_id, "")
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
    old = _lookup(state, "subscription", sub_id, "")
    if old["status"] != "paused":
        raise invalid("Only paused subscriptions can be resumed.")
    new = clone(old) | {"status": "active", "status_details": None}
    billing.start_periods(new, state.now)
    billing.bill_new_period(state, new, "subscription_update")
    billing.save_and_announce(state, new, old)
    state.emit("customer.subscription.resumed", "subscription", new)
    return new


# -- money --------------------------------------------------------------------------------
def create_refund(state: StripeState, params: Params) -> StripeObject:
    old = _lookup(state, "charge", _required(params, "charge"), "charge")
    remaining = old["amount"] - old["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            400, f"Charge {old['id']} has already been refunded.", param="charge", code="charge_already_refunded"
        )
    amount = _int(params, "amount", remaining) or remaining
    if amount > remaining:
        raise invalid(f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})", "amount")
    refund = objects.refund(
        state.new_id("re"),
        charge=old["id"],
        amount=amount,
        currency=old["currency"],
        created=state.now,
        reason=params.get("reason"),
    )
    state.insert("refund", refund)
    new = clone(old)
    new["amount_refunded"] += amount
    new["refunded"] = new["amount_refunded"] >= new["amount"]
    state.replace("charge", new)
    state.emit("refund.created", "refund", refund)
    state.emit("charge.refunded", "charge", new, old)
    return refund


def purchase(state: StripeState, customer_id: str, amount: int, currency: str, description: str | None) -> StripeObject:
    """A one-off (non-subscription) invoice, paid at once: invoice.paid with billing_reason manual."""
    _lookup(state, "customer", customer_id, "customer")
    invoice_id = state.new_id("in")
    line = objects.invoice_line(
        state.new_id("il"),
        invoice=invoice_id,
        amount=amount,
        currency=currency,
        period_start=state.now,
        period_end=state.now,
        quantity=1,
        description=description,
        livemode=state.livemode,
    )
    invoice = objects.invoice(
        invoice_id,
        customer=customer_id,
        created=state.now,
        currency=currency,
        total=amount,
        billing_reason="manual",
        status="draft",
        attempt_count=0,
        lines=[line],
        livemode=state.livemode,
    )
    billing.collect(state, invoice, retries=False)
    return invoice
