"""Subscription items the way Stripe pages them: an embedded `items` list holds at most a few items
(`has_more` says there are more) and `GET /v1/subscription_items?subscription=` lists them all."""

from __future__ import annotations

from typing import Any

from emulators.stripe.errors import invalid, no_such
from emulators.stripe.listing import parse_limit
from emulators.stripe.objects import list_object

StripeObject = dict[str, Any]
EMBEDDED_ITEMS = 20  # items shown inside a subscription before `has_more`


def truncate_embedded_items(body: Any, limit: int) -> Any:
    """Cut every rendered subscription's `items.data` to `limit`, flagging `has_more` (in place)."""
    subscriptions = body.get("data", []) if body.get("object") == "list" else [body]
    for subscription in subscriptions:
        items = subscription.get("items") if isinstance(subscription, dict) else None
        if isinstance(items, dict) and len(items.get("data") or []) > limit:
            items["data"], items["has_more"] = items["data"][:limit], True
    return body


def list_subscription_items(fetch: Any, params: dict[str, Any]) -> StripeObject:
    """One page of a subscription's items, in their order, after `starting_after`."""
    if not params.get("subscription"):
        raise invalid("Missing required param: subscription.", "subscription")
    subscription = fetch("subscription", str(params["subscription"]))
    if subscription is None:
        raise no_such("subscription", str(params["subscription"]), param="subscription")
    items = subscription["items"]["data"]
    start = 0
    if params.get("starting_after"):
        ids = [item["id"] for item in items]
        if params["starting_after"] not in ids:
            raise no_such("subscription_item", params["starting_after"], param="starting_after")
        start = ids.index(params["starting_after"]) + 1
    limit = parse_limit(params)
    page = items[start : start + limit]
    url = f"/v1/subscription_items?subscription={subscription['id']}"
    return list_object(page, url, has_more=start + limit < len(items))
