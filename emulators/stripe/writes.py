"""The write endpoints Stripe offers that revsync's tests and demo use, each emitting its event
(subscriptions: emulators/stripe/subscription_writes.py), and the parameter coercion they share.

Parameters arrive decoded (`params.decode`): strings, dicts and lists; "" unsets a field.
"""

from __future__ import annotations

from typing import Any

from emulators.stripe import billing, objects
from emulators.stripe.errors import StripeError, invalid, missing_param, no_such
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


def int_param(params: Params, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", name) from None


def bool_param(params: Params, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise invalid(f"Invalid boolean: {value}", name)
    return value == "true"


def required_param(params: Params, name: str) -> Any:
    if params.get(name) in (None, ""):
        raise missing_param(name)
    return params[name]


def merge_metadata(current: dict[str, str], update: Any) -> dict[str, str]:
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


def lookup(state: StripeState, kind: str, object_id: Any, param: str) -> StripeObject:
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
        metadata=merge_metadata({}, params.get("metadata")),
        default_payment_method=payment_method,
        livemode=state.livemode,
    )
    return _created(state, "customer", customer)


def _relabelled(
    state: StripeState, kind: str, object_id: str, params: Params, fields: tuple[str, ...]
) -> tuple[StripeObject, StripeObject]:
    """(the stored object, a copy with these text fields and its metadata updated; "" clears)."""
    old = lookup(state, kind, object_id, "")
    new = clone(old)
    for field in fields:
        if field in params:
            new[field] = params[field] or None
    if "metadata" in params:
        new["metadata"] = merge_metadata(new["metadata"], params["metadata"])
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
        name=required_param(params, "name"),
        active=bool_param(params, "active") is not False,
        description=params.get("description"),
        metadata=merge_metadata({}, params.get("metadata")),
        livemode=state.livemode,
    )
    return _created(state, "product", product)


def update_product(state: StripeState, product_id: str, params: Params) -> StripeObject:
    old, new = _relabelled(state, "product", product_id, params, ("name", "description"))
    if "active" in params:
        new["active"] = bool_param(params, "active")
    new["updated"] = state.now
    state.replace("product", new)
    state.emit("product.updated", "product", new, old)
    return new


def update_price(state: StripeState, price_id: str, params: Params) -> StripeObject:
    """Only a price's labels and `active` change; amounts are fixed for life. The stored price is
    updated in place because subscription items embed it and Stripe shows them the current price."""
    price = lookup(state, "price", price_id, "")
    old = clone(dict(price))  # `clone` shares prices; a dict() copy makes it a real copy
    for field in ("nickname", "lookup_key"):
        if field in params:
            price[field] = params[field] or None
    if "active" in params:
        price["active"] = bool_param(params, "active")
    if "metadata" in params:
        price["metadata"] = merge_metadata(price["metadata"], params["metadata"])
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
    obj = lookup(state, kind, object_id, "")
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
                unit_amount=tier.get("unit_amount_decimal") or int_param(tier, "unit_amount"),
                flat_amount=tier.get("flat_amount_decimal") or int_param(tier, "flat_amount"),
            )
        )
    return tiers


def create_price(state: StripeState, params: Params) -> StripeObject:
    product = lookup(state, "product", required_param(params, "product"), "product")
    recurring = params.get("recurring") or {}
    billing_scheme = params.get("billing_scheme", "per_unit")
    if billing_scheme == "tiered" and not params.get("tiers"):
        raise missing_param("tiers")
    transform = params.get("transform_quantity")
    price = objects.price(
        state.new_id("price"),
        created=state.now,
        product=product["id"],
        currency=required_param(params, "currency").lower(),
        unit_amount=int_param(params, "unit_amount"),
        unit_amount_decimal=params.get("unit_amount_decimal"),
        interval=recurring.get("interval"),
        interval_count=int_param(recurring, "interval_count", 1) or 1,
        usage_type=recurring.get("usage_type", "licensed"),
        billing_scheme=billing_scheme,
        tiers_mode=params.get("tiers_mode"),
        tiers=_tiers(params.get("tiers") or []),
        transform_quantity={"divide_by": int(transform["divide_by"]), "round": transform["round"]}
        if transform
        else None,
        trial_period_days=int_param(recurring, "trial_period_days"),
        nickname=params.get("nickname"),
        lookup_key=params.get("lookup_key"),
        metadata=merge_metadata({}, params.get("metadata")),
        livemode=state.livemode,
    )
    return _created(state, "price", price)


def create_coupon(state: StripeState, params: Params) -> StripeObject:
    percent_off, amount_off = params.get("percent_off"), int_param(params, "amount_off")
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
        duration_in_months=int_param(params, "duration_in_months"),
        name=params.get("name"),
        metadata=merge_metadata({}, params.get("metadata")),
        livemode=state.livemode,
    )
    return _created(state, "coupon", coupon)


# -- money --------------------------------------------------------------------------------
def create_refund(state: StripeState, params: Params) -> StripeObject:
    old = lookup(state, "charge", required_param(params, "charge"), "charge")
    remaining = old["amount"] - old["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            400, f"Charge {old['id']} has already been refunded.", param="charge", code="charge_already_refunded"
        )
    amount = int_param(params, "amount", remaining) or remaining
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
    lookup(state, "customer", customer_id, "customer")
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
