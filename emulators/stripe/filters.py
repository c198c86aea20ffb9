"""The Stripe emulator's list filters: per list endpoint, its parameters as (predicate, secondary
index), the index naming a field the state keeps an index on (emulators/stripe/app.py routes them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulators.stripe.errors import invalid

StripeObject = dict[str, Any]
Params = dict[str, Any]

_SUBSCRIPTION_STATUSES = {
    "active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired", "trialing", "paused",
}  # fmt: skip
_ENDED = {"canceled", "incomplete_expired"}

Filters = tuple[Callable[[StripeObject], bool] | None, tuple[str, str] | None]


def _all(*checks: Callable[[StripeObject], bool] | None) -> Callable[[StripeObject], bool] | None:
    active = [c for c in checks if c is not None]
    if not active:
        return None
    return lambda obj: all(check(obj) for check in active)


def _equals(params: Params, name: str, field: str | None = None) -> Callable[[StripeObject], bool] | None:
    if params.get(name) in (None, ""):
        return None
    value = params[name]
    return lambda obj: obj.get(field or name) == value


def _boolean(params: Params, name: str) -> Callable[[StripeObject], bool] | None:
    if name not in params:
        return None
    wanted = params[name] == "true"
    return lambda obj: obj[name] is wanted


# What Stripe's list and retrieve endpoints take besides each list's own filters.
LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand", "created"})
RETRIEVE_PARAMS = frozenset({"expand"})


def no_filters(params: Params) -> Filters:
    return None, None


def customer_filters(params: Params) -> Filters:
    return _equals(params, "email"), None


def product_filters(params: Params) -> Filters:
    return _boolean(params, "active"), None


def price_filters(params: Params) -> Filters:
    index = ("product", params["product"]) if params.get("product") else None
    return _all(_boolean(params, "active"), _equals(params, "type"), _equals(params, "currency")), index


def subscription_filters(params: Params) -> Filters:
    status = params.get("status")
    if status is None:
        by_status: Callable[[StripeObject], bool] | None = lambda s: s["status"] != "canceled"  # noqa: E731
    elif status == "all":
        by_status = None
    elif status == "ended":
        by_status = lambda s: s["status"] in _ENDED  # noqa: E731
    elif status in _SUBSCRIPTION_STATUSES:
        by_status = lambda s: s["status"] == status  # noqa: E731
    else:
        raise invalid(
            f"Invalid status: must be one of {', '.join(sorted(_SUBSCRIPTION_STATUSES | {'all', 'ended'}))}", "status"
        )
    price = params.get("price")
    by_price = (lambda s: any(i["price"]["id"] == price for i in s["items"]["data"])) if price else None
    index = ("customer", params["customer"]) if params.get("customer") else None
    return _all(by_status, by_price), index


def invoice_filters(params: Params) -> Filters:
    subscription = params.get("subscription")
    by_subscription = (
        (lambda i: ((i["parent"] or {}).get("subscription_details") or {}).get("subscription") == subscription)
        if subscription
        else None
    )
    index = ("customer", params["customer"]) if params.get("customer") else None
    return _all(by_subscription, _equals(params, "status")), index


def charge_filters(params: Params) -> Filters:
    return _equals(params, "payment_intent"), ("customer", params["customer"]) if params.get("customer") else None


def invoice_payment_filters(params: Params) -> Filters:
    payment = params.get("payment") or {}
    intent = payment.get("payment_intent") if isinstance(payment, dict) else None
    by_intent = (lambda p: p["payment"].get("payment_intent") == intent) if intent else None
    return _all(_equals(params, "invoice"), by_intent), None


def refund_filters(params: Params) -> Filters:
    return _equals(params, "charge"), None
