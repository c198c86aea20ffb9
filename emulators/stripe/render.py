"""Turn stored objects into what the API returns, in the pinned or an older API version.

`copy_for_response` makes an independent copy (responses and events never alias the store) and
drops price `tiers`, which Stripe only returns when expanded. `in_version` rewrites a pinned-shape
object into an older version's shape for events: before `2025-09-30.clover` a discount carries its
`coupon` object; before `2025-03-31.basil` a subscription has `current_period_*`, singular
`discount`, `plan`/`quantity` for single-item subscriptions, and invoices/charges name their
subscription/invoice directly. `previous_attributes` diffs two renderings the way Stripe's
`data.previous_attributes` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

StripeObject = dict[str, Any]
Fetch = Callable[[str, str], StripeObject | None]  # (kind, id) → stored object or None

PINNED_API_VERSION = "2026-10-28.endive"
BASIL = "2025-03-31"
CLOVER = "2025-09-30"


def copy_for_response(value: Any) -> Any:
    if isinstance(value, dict):
        drop_tiers = value.get("object") == "price"
        return {k: copy_for_response(v) for k, v in value.items() if not (drop_tiers and k == "tiers")}
    if isinstance(value, list):
        return [copy_for_response(v) for v in value]
    return value


def _before(api_version: str, change: str) -> bool:
    return api_version[:10] < change


def plan_from_price(price: StripeObject) -> StripeObject:
    """The legacy `plan` mirror of a recurring price."""
    recurring = price.get("recurring") or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price.get("unit_amount"),
        "amount_decimal": price.get("unit_amount_decimal"),
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count"),
        "livemode": price["livemode"],
        "metadata": price["metadata"],
        "meter": recurring.get("meter"),
        "nickname": price.get("nickname"),
        "product": price["product"],
        "tiers_mode": price.get("tiers_mode"),
        "transform_usage": price.get("transform_quantity"),
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type"),
    }


def _legacy_discount(discount: StripeObject, fetch: Fetch) -> StripeObject:
    legacy = {k: v for k, v in discount.items() if k != "source"}
    coupon_id = discount["source"]["coupon"]
    coupon = fetch("coupon", coupon_id) if isinstance(coupon_id, str) else coupon_id
    legacy["coupon"] = copy_for_response(coupon) if coupon else coupon_id
    return legacy


def _legacy_subscription(sub: StripeObject, api_version: str, fetch: Fetch) -> StripeObject:
    items = sub["items"]["data"]
    out = dict(sub)
    out.pop("status_details", None)
    out["current_period_start"] = min((i["current_period_start"] for i in items), default=None)
    out["current_period_end"] = min((i["current_period_end"] for i in items), default=None)
    out["items"] = dict(sub["items"])
    out["items"]["data"] = [
        {k: v for k, v in item.items() if not k.startswith("current_period_")}
        | {"plan": plan_from_price(item["price"])}
        for item in items
    ]
    first = next((fetch("discount", d) for d in sub["discounts"] if isinstance(d, str)), None)
    out["discount"] = in_version("discount", copy_for_response(first), api_version, fetch) if first else None
    single = items[0] if len(items) == 1 else None
    out["plan"] = plan_from_price(single["price"]) if single else None
    out["quantity"] = single["quantity"] if single else None
    return out


def _invoice_for_payment_intent(payment_intent: str, fetch: Fetch) -> str | None:
    payment = fetch("invoice_payment_by_intent", payment_intent)
    return payment["invoice"] if payment else None


def in_version(kind: str, obj: StripeObject, api_version: str, fetch: Fetch) -> StripeObject:
    """`obj` (a response copy in the pinned shape) rendered in `api_version`'s shape."""
    if kind == "discount" and _before(api_version, CLOVER):
        return _legacy_discount(obj, fetch)
    if not _before(api_version, BASIL):
        return obj
    if kind == "subscription":
        return _legacy_subscription(obj, api_version, fetch)
    if kind == "invoice":
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        out = {k: v for k, v in obj.items() if k != "parent"}
        out["subscription"] = details.get("subscription")
        return out
    if kind == "charge":
        return obj | {"invoice": _invoice_for_payment_intent(obj["payment_intent"], fetch)}
    return obj


def previous_attributes(old: StripeObject, new: StripeObject) -> StripeObject:
    """Old values of what changed. Plain hashes (metadata, cancellation_details) diff key by key;
    API objects and lists (items, pause_collection → null) are given whole, as Stripe does."""
    changed: StripeObject = {}
    for key in old.keys() | new.keys():
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict) and "object" not in before:
            changed[key] = previous_attributes(before, after)
        else:
            changed[key] = before
    return changed
