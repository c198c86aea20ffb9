"""StripeResource against the Stripe emulator over HTTP: paging, 429 backoff, and the key kept secret."""

from __future__ import annotations

import pytest
import stripe

from assets.lifecycle.source import StripeSource
from emulators.http import FaultRule
from resources.stripe import StripeRateLimited, StripeResource
from tests.fixtures.stripe_emulator import STRIPE_TEST_KEY


def _subscriptions(stripe_client, catalog, n: int) -> set[str]:
    return {
        stripe_client.v1.subscriptions.create(
            {"customer": catalog["customer"], "items": [{"price": catalog["monthly"]}]}
        ).id
        for _ in range(n)
    }


def test_lists_every_page_with_expansions(stripe_emulator, stripe_client, stripe_catalog):
    created = _subscriptions(stripe_client, stripe_catalog, 205)
    resource = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000)
    listed = list(resource.list_subscriptions())
    assert {s["id"] for s in listed} == created  # three pages of 100, none twice
    assert len(listed) == 205
    # Customers are listed on their own, once: the subscription list does not expand them too.
    assert all(isinstance(s["customer"], str) for s in listed)
    assert (
        stripe_emulator.app.counters["route:GET GET /v1/subscriptions"] == 3
    )  # the Stripe app names routes "METHOD path"


def test_backs_off_on_429_and_finishes(stripe_emulator, stripe_client, stripe_catalog):
    _subscriptions(stripe_client, stripe_catalog, 3)
    stripe_emulator.app.add_faults(FaultRule(kind="status", status=429, times=2, path_regex="^/v1/prices$"))
    resource = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000)
    assert len(list(resource.list_prices())) == 2  # answered 429 twice, then retried
    assert stripe_emulator.app.counters["status:429"] == 2


def test_gives_up_after_its_retries_with_a_clear_error(stripe_emulator):
    stripe_emulator.app.add_faults(FaultRule(kind="status", status=429, times=None, path_regex="^/v1/prices$"))
    resource = StripeResource(
        api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000, max_rate_limit_retries=1
    )
    with pytest.raises(StripeRateLimited, match="429 2 times"):
        list(resource.list_prices())


def test_the_key_is_never_shown(stripe_emulator):
    secret = "sk_test_revsync_secret_0123456789"
    resource = StripeResource(api_key=secret, base_url=stripe_emulator.url)
    assert secret not in repr(resource)
    stripe_emulator.app.api_keys = {"sk_test_another_key"}
    with pytest.raises(stripe.AuthenticationError) as failure:
        list(resource.list_customers())
    assert secret not in str(failure.value)


def test_find_event_answers_none_once_stripe_no_longer_keeps_it(stripe_emulator, stripe_client, stripe_catalog):
    _subscriptions(stripe_client, stripe_catalog, 1)
    resource = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000)
    reader: StripeSource = resource  # the lifecycle collection's protocol, checked by the type checker
    newest = next(reader.list_events(["customer.subscription.created"]))
    assert reader.find_event(newest["id"]) == newest
    assert reader.find_event("evt_never_existed") is None
    stripe_emulator.app.advance(31 * 86_400)  # past the 30-day retention
    assert reader.find_event(newest["id"]) is None


def test_a_subscription_with_more_items_than_stripe_embeds_is_read_whole(
    stripe_emulator, stripe_client, stripe_catalog
):
    prices = [
        stripe_client.v1.prices.create(
            {"currency": "usd", "unit_amount": 100 * (i + 1), "recurring": {"interval": "month"}, "product": product}
        ).id
        for i, product in enumerate([stripe_catalog["product"]] * 5)
    ]
    created = stripe_client.v1.subscriptions.create(
        {"customer": stripe_catalog["customer"], "items": [{"price": p, "quantity": 2} for p in prices]}
    )
    stripe_emulator.app.embedded_items_limit = 2  # Stripe embeds a few items, then says has_more
    embedded = stripe_client.v1.subscriptions.retrieve(created.id).to_dict()["items"]
    assert len(embedded["data"]) == 2 and embedded["has_more"]

    resource = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000)
    [listed] = list(resource.list_subscriptions())

    items = listed["items"]
    assert [i["price"]["id"] for i in items["data"]] == prices and items["has_more"] is False  # never a partial list
