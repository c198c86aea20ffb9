"""The emulator's catalogue and customer updates and deletions, with the events Stripe sends."""

from __future__ import annotations

import pytest
import stripe


def _events(client: stripe.StripeClient, type: str) -> list[dict]:
    return [e.to_dict() for e in client.v1.events.list({"type": type, "limit": 100}).data]


def test_label_updates_emit_their_events_with_previous_attributes(stripe_client, stripe_catalog):
    c = stripe_client
    c.v1.products.update(stripe_catalog["product"], {"name": "Team plan", "metadata": {"line": "core"}})
    c.v1.prices.update(stripe_catalog["monthly"], {"nickname": "Team monthly", "active": "false"})
    coupon = c.v1.coupons.create({"percent_off": 10, "duration": "forever"}).id
    c.v1.coupons.update(coupon, {"name": "Ten off"})

    (product,) = _events(c, "product.updated")
    assert product["data"]["object"]["name"] == "Team plan"
    assert product["data"]["previous_attributes"]["name"] == "Team"
    (price,) = _events(c, "price.updated")
    assert price["data"]["previous_attributes"] == {"active": True, "nickname": None}
    (updated,) = _events(c, "coupon.updated")
    assert (updated["data"]["object"]["name"], updated["data"]["previous_attributes"]) == ("Ten off", {"name": None})


def test_a_subscription_shows_its_price_as_it_is_now(stripe_client, stripe_catalog):
    c = stripe_client
    sub = c.v1.subscriptions.create(
        {"customer": stripe_catalog["customer"], "items": [{"price": stripe_catalog["monthly"]}]}
    )
    c.v1.prices.update(stripe_catalog["monthly"], {"nickname": "Team monthly"})
    assert c.v1.subscriptions.retrieve(sub.id).items.data[0].price.nickname == "Team monthly"
    # No subscription event for a price's label change, as in Stripe.
    assert len(_events(c, "customer.subscription.updated")) == 0


def test_deletions_leave_lists_and_lookups_and_emit_deleted_events(stripe_client, stripe_catalog):
    c = stripe_client
    coupon = c.v1.coupons.create({"percent_off": 10, "duration": "forever"}).id
    sub = c.v1.subscriptions.create(
        {"customer": stripe_catalog["customer"], "items": [{"price": stripe_catalog["monthly"]}],
         "discounts": [{"coupon": coupon}]}
    )  # fmt: skip
    other = c.v1.customers.create({"email": "gone@example.com"}).id
    lonely = c.v1.products.create({"name": "No prices"}).id

    assert c.v1.customers.delete(other).deleted is True
    c.v1.coupons.delete(coupon)
    c.v1.products.delete(lonely)

    for service, object_id in ((c.v1.coupons, coupon), (c.v1.products, lonely)):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            service.retrieve(object_id)
        assert missing.value.http_status == 404
    # A deleted customer is still answered for, as in Stripe: only its id and `deleted`.
    assert c.v1.customers.retrieve(other).to_dict() == {"id": other, "object": "customer", "deleted": True}
    assert other not in {x.id for x in c.v1.customers.list({"limit": 100}).data}
    assert coupon not in {x.id for x in c.v1.coupons.list({"limit": 100}).data}
    assert [e["data"]["object"]["id"] for e in _events(c, "customer.deleted")] == [other]
    assert [e["data"]["object"]["id"] for e in _events(c, "coupon.deleted")] == [coupon]
    assert [e["data"]["object"]["id"] for e in _events(c, "product.deleted")] == [lonely]
    # A discount made from a deleted coupon keeps applying.
    assert len(c.v1.subscriptions.retrieve(sub.id).discounts) == 1


def test_a_product_with_prices_cannot_be_deleted(stripe_client, stripe_catalog):
    with pytest.raises(stripe.InvalidRequestError, match="has one or more user-created prices"):
        stripe_client.v1.products.delete(stripe_catalog["product"])


def test_created_range_filters_bound_a_listing(stripe_app, stripe_client):
    start = stripe_app.state.now
    ids = []
    for step in range(4):
        ids.append(stripe_client.v1.customers.create({"email": f"c{step}@example.com"}).id)
        stripe_app.advance(10)
    window = stripe_client.v1.customers.list({"created": {"gte": start + 10, "lt": start + 30}, "limit": 100})
    assert [c.id for c in window.data] == [ids[2], ids[1]]  # newest first, both bounds exact
