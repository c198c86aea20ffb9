"""Writes emit Stripe's events with `previous_attributes`; the events list filters, pages and expires."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from emulators.stripe import StripeEmulator
from emulators.stripe.render import PINNED_API_VERSION
from tests.fixtures.stripe_emulator import STRIPE_EPOCH

DAY = 86_400


def _events(client: stripe.StripeClient, **params: Any) -> list[dict[str, Any]]:
    """All matching events, oldest first, as plain dicts."""
    listed = client.v1.events.list({"limit": 100, **params}).auto_paging_iter()
    return [e.to_dict() for e in reversed(list(listed))]


def _last(client: stripe.StripeClient, type: str) -> dict[str, Any]:
    return client.v1.events.list({"type": type, "limit": 1}).data[0].to_dict()


def test_customer_create_and_update_events(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create({"email": "a@example.com", "metadata": {"plan": "x"}})
    stripe_client.v1.customers.update(customer.id, {"email": "b@example.com", "metadata": {"plan": "", "tier": "gold"}})
    created, updated = _events(stripe_client, type="customer.*")
    assert created["type"] == "customer.created" and created["data"]["object"]["email"] == "a@example.com"
    assert "previous_attributes" not in created["data"]
    assert updated["data"]["previous_attributes"] == {"email": "a@example.com", "metadata": {"plan": "x", "tier": None}}
    assert updated["data"]["object"]["metadata"] == {"tier": "gold"}
    assert created["api_version"] == PINNED_API_VERSION and created["livemode"] is False
    assert created["created"] == STRIPE_EPOCH and created["request"]["id"].startswith("req_")


def test_subscription_lifecycle_writes_emit_matching_events(
    stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    sub = stripe_client.v1.subscriptions.create(
        {"customer": stripe_catalog["customer"], "items": [{"price": stripe_catalog["monthly"], "quantity": 2}]}
    )
    created = _last(stripe_client, "customer.subscription.created")
    paid = _last(stripe_client, "invoice.paid")["data"]["object"]
    assert created["data"]["object"]["id"] == sub.id and created["data"]["object"]["status"] == "active"
    assert paid["billing_reason"] == "subscription_create" and paid["amount_paid"] == 2000
    assert paid["parent"]["subscription_details"]["subscription"] == sub.id

    item_id = sub["items"].data[0].id
    stripe_client.v1.subscriptions.update(sub.id, {"items": [{"id": item_id, "quantity": 5}]})
    previous = _last(stripe_client, "customer.subscription.updated")["data"]["previous_attributes"]
    assert list(previous) == ["items"] and previous["items"]["data"][0]["quantity"] == 2

    stripe_client.v1.subscriptions.update(sub.id, {"items": [{"id": item_id, "price": stripe_catalog["yearly"]}]})
    event = _last(stripe_client, "customer.subscription.updated")
    assert event["data"]["previous_attributes"]["items"]["data"][0]["price"]["id"] == stripe_catalog["monthly"]
    assert event["data"]["object"]["items"]["data"][0]["price"]["id"] == stripe_catalog["yearly"]
    upgrade = _last(stripe_client, "invoice.paid")["data"]["object"]
    assert upgrade["billing_reason"] == "subscription_update" and upgrade["amount_paid"] == 60000

    stripe_client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True, "metadata": {"k": "v"}})
    previous = _last(stripe_client, "customer.subscription.updated")["data"]["previous_attributes"]
    assert previous["cancel_at_period_end"] is False and previous["canceled_at"] is None
    assert previous["metadata"] == {"k": None}
    assert previous["cancellation_details"] == {"reason": None}

    stripe_client.v1.subscriptions.update(sub.id, {"pause_collection": {"behavior": "void"}})
    previous = _last(stripe_client, "customer.subscription.updated")["data"]["previous_attributes"]
    assert previous == {"pause_collection": None}

    stripe_client.v1.subscriptions.cancel(
        sub.id, {"cancellation_details": {"comment": "too pricey", "feedback": "too_expensive"}}
    )
    deleted = _last(stripe_client, "customer.subscription.deleted")
    assert "previous_attributes" not in deleted["data"]
    ended = deleted["data"]["object"]
    assert ended["status"] == "canceled" and ended["ended_at"] == STRIPE_EPOCH
    assert ended["cancellation_details"] == {
        "comment": "too pricey",
        "feedback": "too_expensive",
        "reason": "cancellation_requested",
    }


def test_create_with_trial_discount_and_metadata(
    stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    coupon = stripe_client.v1.coupons.create({"percent_off": 50, "duration": "repeating", "duration_in_months": 3})
    sub = stripe_client.v1.subscriptions.create(
        {
            "customer": stripe_catalog["customer"],
            "items": [{"price": stripe_catalog["monthly"]}],
            "trial_end": STRIPE_EPOCH + 2 * DAY,
            "discounts": [{"coupon": coupon.id}],
            "metadata": {"seats": "1"},
        }
    )
    assert sub.status == "trialing" and sub.trial_start == STRIPE_EPOCH and sub.trial_end == STRIPE_EPOCH + 2 * DAY
    discount = stripe_client.v1.subscriptions.retrieve(sub.id, {"expand": ["discounts"]}).discounts[0]
    assert discount.source.coupon == coupon.id and discount.end == 1775001600  # three months later
    types = [e["type"] for e in _events(stripe_client, type="customer.subscription.*")]
    assert types == ["customer.subscription.created", "customer.subscription.trial_will_end"]  # < 3 days left
    assert _last(stripe_client, "invoice.paid")["data"]["object"]["amount_paid"] == 0


def test_trial_end_now_converts_in_one_update(
    stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    sub = stripe_client.v1.subscriptions.create(
        {
            "customer": stripe_catalog["customer"],
            "items": [{"price": stripe_catalog["monthly"]}],
            "trial_period_days": 14,
        }
    )
    stripe_client.v1.subscriptions.update(sub.id, {"trial_end": "now"})
    updates = _events(stripe_client, type="customer.subscription.updated")
    assert len(updates) == 1
    previous = updates[0]["data"]["previous_attributes"]
    assert previous["status"] == "trialing" and previous["trial_end"] == STRIPE_EPOCH + 14 * DAY
    invoice = _last(stripe_client, "invoice.paid")["data"]["object"]
    assert invoice["billing_reason"] == "subscription_update" and invoice["amount_paid"] == 1000


def test_refund_emits_charge_refunded(stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]) -> None:
    stripe_client.v1.subscriptions.create(
        {"customer": stripe_catalog["customer"], "items": [{"price": stripe_catalog["monthly"]}]}
    )
    charge = stripe_client.v1.charges.list({"customer": stripe_catalog["customer"]}).data[0]
    payment = stripe_client.v1.invoice_payments.list(
        {"payment": {"type": "payment_intent", "payment_intent": charge.payment_intent}}
    )
    assert payment.data[0].invoice == stripe_client.v1.invoices.list().data[0].id
    stripe_client.v1.refunds.create({"charge": charge.id, "amount": 400})
    first = _last(stripe_client, "charge.refunded")["data"]
    assert first["object"]["amount_refunded"] == 400 and first["previous_attributes"] == {"amount_refunded": 0}
    stripe_client.v1.refunds.create({"charge": charge.id})
    second = _last(stripe_client, "charge.refunded")["data"]
    assert second["object"]["refunded"] is True
    assert second["previous_attributes"] == {"amount_refunded": 400, "refunded": False}
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create({"charge": charge.id})


def test_events_filter_by_type_wildcard_types_and_created(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient
) -> None:
    stripe_client.v1.customers.create({})
    stripe_app.advance(60)
    product = stripe_client.v1.products.create({"name": "P"})
    stripe_client.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 5})
    assert [e["type"] for e in _events(stripe_client, type="pr*.created")] == ["product.created", "price.created"]
    assert [e["type"] for e in _events(stripe_client, types=["customer.created", "price.created"])] == [
        "customer.created",
        "price.created",
    ]
    assert [e["type"] for e in _events(stripe_client, created={"gt": STRIPE_EPOCH})] == [
        "product.created",
        "price.created",
    ]
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.events.list({"type": "customer.created", "types": ["price.created"]})
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.events.list({"types": [f"t{i}" for i in range(21)]})


def test_events_cursor_recipe_and_30_day_retention(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient
) -> None:
    stripe_client.v1.customers.create({})
    cursor = stripe_client.v1.events.list({"limit": 1}).data[0].id
    for _ in range(5):
        stripe_client.v1.customers.create({})
    newer = stripe_client.v1.events.list({"ending_before": cursor, "limit": 2})
    walked = [e.id for e in newer.auto_paging_iter()]
    assert len(walked) == 5 and cursor not in walked
    assert walked == sorted(walked)  # oldest → newest, as the SDK pages backwards

    stripe_app.advance(31 * DAY)
    assert stripe_client.v1.events.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.events.retrieve(cursor)
    assert info.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.events.list({"ending_before": cursor})


def test_events_render_in_an_older_api_version(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    coupon = stripe_client.v1.coupons.create({"amount_off": 100, "currency": "usd", "duration": "forever"})
    params = {
        "customer": stripe_catalog["customer"],
        "items": [{"price": stripe_catalog["monthly"], "quantity": 3}],
        "discounts": [{"coupon": coupon.id}],
    }
    old_style = stripe_client.v1.subscriptions.create(
        params, {"headers": {"Stripe-Emulator-Event-Version": "2024-06-20"}}
    )  # type: ignore[typeddict-item]
    legacy = _last(stripe_client, "customer.subscription.created")
    assert legacy["api_version"] == "2024-06-20"
    obj = legacy["data"]["object"]
    item = old_style["items"].data[0]
    assert (
        obj["current_period_start"] == item.current_period_start
        and obj["current_period_end"] == item.current_period_end
    )
    assert obj["discount"]["coupon"]["amount_off"] == 100 and "source" not in obj["discount"]
    assert obj["plan"]["id"] == stripe_catalog["monthly"] and obj["plan"]["amount"] == 1000 and obj["quantity"] == 3
    assert "current_period_end" not in obj["items"]["data"][0]
    invoice = _last(stripe_client, "invoice.paid")["data"]["object"]
    assert invoice["subscription"] == old_style.id and "parent" not in invoice

    stripe_app.configure(event_api_version="2024-06-20")
    stripe_client.v1.subscriptions.update(old_style.id, {"items": [{"id": item.id, "quantity": 4}]})
    updated = _last(stripe_client, "customer.subscription.updated")
    assert updated["api_version"] == "2024-06-20" and updated["data"]["previous_attributes"]["quantity"] == 3

    stripe_app.configure(event_api_version=PINNED_API_VERSION)
    stripe_client.v1.subscriptions.update(old_style.id, {"metadata": {"a": "b"}})
    pinned = _last(stripe_client, "customer.subscription.updated")["data"]["object"]
    assert "current_period_end" not in pinned and "discount" not in pinned and "plan" not in pinned


def test_livemode_is_configurable(stripe_app: StripeEmulator, stripe_client: stripe.StripeClient) -> None:
    stripe_app.configure(livemode=True)
    customer = stripe_client.v1.customers.create({})
    assert customer.livemode is True and _last(stripe_client, "customer.created")["livemode"] is True
