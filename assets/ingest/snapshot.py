"""Join what Stripe returns in separate lists back onto each subscription.

Stripe expands at most four levels, so a subscription list cannot carry its prices' tiers or
products. They are listed once each and joined here, giving every item's `price` its `tiers`
and its `product` object, as `subscription_mrr` expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def attach_price_details(
    subscription: dict[str, Any], prices: Mapping[str, dict[str, Any]], products: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """A copy of `subscription` whose item prices carry tiers and product objects."""
    items = []
    for item in subscription["items"]["data"]:
        price = dict(item["price"])
        listed = prices.get(price["id"])
        if listed is not None and listed.get("tiers") is not None:
            price["tiers"] = listed["tiers"]
        product_id = price["product"] if isinstance(price.get("product"), str) else None
        if product_id is not None and product_id in products:
            price["product"] = products[product_id]
        items.append({**item, "price": price})
    return {**subscription, "items": {**subscription["items"], "data": items}}
