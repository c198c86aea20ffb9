"""The form Stripe objects are stored in, so a full listing and an incremental update agree exactly.

- A subscription item names its price by id (`items.data[].price` is the id): Stripe does not
  announce a price's label change on the subscriptions using it, so the stored price is the one
  source, joined back on read (`with_prices`). The customer is an id (customers are stored apart).
- Discounts are objects, as the subscription list returns them expanded. An event names them by
  id; ids the stored subscription already had are filled in from it (a discount never changes),
  a new one needs the subscription fetched again.
- A price carries its `tiers` (the list expands them; events never carry them; they never change).

Payloads are the API's JSON as the reader decoded it. The stored form is a new dict wherever it
differs, never a change in place: an event's payload is logged as Stripe sent it. Parts that do
not change are shared, not copied (a full listing of a million subscriptions copies nothing twice).

Pure: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

StripeObject = dict[str, Any]


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, Mapping) else value


def customer_id(subscription: Mapping[str, Any]) -> str | None:
    """The id of the customer a subscription names, stored (an id) or as listed (expanded)."""
    found: str | None = _id(subscription.get("customer"))
    return found


def stored_subscription(subscription: Mapping[str, Any]) -> StripeObject:
    sub = dict(subscription)
    sub["customer"] = _id(sub.get("customer"))
    items = sub.get("items")
    if items and items.get("data"):
        sub["items"] = {**items, "data": [{**item, "price": _id(item.get("price"))} for item in items["data"]]}
    return sub


def discount_objects(subscription: Mapping[str, Any]) -> dict[str, StripeObject]:
    """The expanded discounts of a stored subscription and its items, by id."""
    items = (subscription.get("items") or {}).get("data") or []
    found = [*(subscription.get("discounts") or []), *(d for i in items for d in i.get("discounts") or [])]
    return {d["id"]: dict(d) for d in found if isinstance(d, Mapping)}


def with_known_discounts(subscription: StripeObject, known: Mapping[str, StripeObject]) -> StripeObject | None:
    """The subscription with discount ids replaced by `known` objects; None if one is unknown."""

    def objects(discounts: Iterable[Any]) -> list[Any] | None:
        out = []
        for d in discounts:
            if isinstance(d, str):
                if d not in known:
                    return None
                d = known[d]
            out.append(d)
        return out

    top = objects(subscription.get("discounts") or [])
    if top is None:
        return None
    items = []
    for item in (subscription.get("items") or {}).get("data") or []:
        item_discounts = objects(item.get("discounts") or [])
        if item_discounts is None:
            return None
        items.append({**item, "discounts": item_discounts})
    return {**subscription, "discounts": top, "items": {**subscription["items"], "data": items}}


def stored_price(price: Mapping[str, Any], previous: Mapping[str, Any] | None) -> StripeObject | None:
    """The price with its tiers (from the listing, or kept from `previous`); None when its tiers
    are unknown and it has to be fetched with them expanded."""
    stored = dict(price)
    if "tiers" in stored:
        return stored
    if previous is not None and "tiers" in previous:
        stored["tiers"] = previous["tiers"]
    elif stored.get("billing_scheme") == "tiered":
        return None
    else:
        stored["tiers"] = None  # what the list returns for a per-unit price with tiers expanded
    return stored


def price_ids(subscription: Mapping[str, Any]) -> set[str]:
    return {item["price"] for item in (subscription.get("items") or {}).get("data") or [] if item.get("price")}


def with_prices(subscription: Mapping[str, Any], prices: Mapping[str, StripeObject]) -> StripeObject:
    """A stored subscription with its items' price objects joined back (an unknown price stays an
    object with only its id, which the revenue engine reports as unreadable)."""
    items = [
        {**item, "price": prices.get(item["price"]) or {"id": item["price"]}}
        for item in (subscription.get("items") or {}).get("data") or []
    ]
    return {**subscription, "items": {**subscription["items"], "data": items}}
