"""StripeResource's reader against the Stripe emulator over HTTP: paging, 429 backoff, and the key kept secret."""

from __future__ import annotations

import pytest
import stripe

from emulators.http import FaultRule
from resources.stripe import SUBSCRIPTION_EXPAND, StripeRateLimited, StripeResource
from resources.stripe_ranges import Listing
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
    reader = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000).reader()
    listing = Listing("subscriptions", {"status": "all", "expand": SUBSCRIPTION_EXPAND}, split=False)
    listed = reader.list_all([listing])["subscriptions"]
    assert {s["id"] for s in listed} == created  # three pages of 100, none twice
    assert len(listed) == 205
    # Customers are listed on their own, once: the subscription list does not expand them too.
    assert all(isinstance(s["customer"], str) for s in listed)
    assert all(isinstance(s["discounts"], list) for s in listed)
    assert (
        stripe_emulator.app.counters["route:GET GET /v1/subscriptions"] == 3
    )  # the Stripe app names routes "METHOD path"
    assert reader.usage().calls == 3


def test_reads_are_json_with_decimal_strings_kept(stripe_emulator, stripe_client, stripe_catalog):
    """Objects come as the API's JSON: no SDK objects, decimal strings stay strings."""
    reader = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000).reader()
    prices = reader.iter_list("prices", {"expand": ["data.tiers"]})
    [price] = [p for p in prices if p["id"] == stripe_catalog["monthly"]]
    assert type(price["unit_amount_decimal"]) is str
    assert not isinstance(price, stripe.StripeObject)
    assert reader.retrieve("prices", price["id"]) == {k: v for k, v in price.items() if k != "tiers"}


def test_backs_off_on_429_and_finishes(stripe_emulator, stripe_client, stripe_catalog):
    _subscriptions(stripe_client, stripe_catalog, 3)
    stripe_emulator.app.add_faults(FaultRule(kind="status", status=429, times=2, path_regex="^/v1/prices$"))
    reader = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000).reader()
    assert len(list(reader.iter_list("prices", {}))) == 2  # answered 429 twice, then retried
    assert stripe_emulator.app.counters["status:429"] == 2


def test_gives_up_after_its_retries_with_a_clear_error(stripe_emulator):
    stripe_emulator.app.add_faults(FaultRule(kind="status", status=429, times=None, path_regex="^/v1/prices$"))
    resource = StripeResource(
        api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000, max_rate_limit_retries=1
    )
    with pytest.raises(StripeRateLimited, match="429 2 times"):
        list(resource.reader().iter_list("prices", {}))


def test_the_key_is_never_shown(stripe_emulator):
    secret = "sk_test_revsync_secret_0123456789"
    resource = StripeResource(api_key=secret, base_url=stripe_emulator.url)
    assert secret not in repr(resource)
    stripe_emulator.app.api_keys = {"sk_test_another_key"}
    with pytest.raises(stripe.AuthenticationError) as failure:
        list(resource.reader().iter_list("customers", {}))
    assert secret not in str(failure.value)


def test_find_event_answers_none_once_stripe_no_longer_keeps_it(stripe_emulator, stripe_client, stripe_catalog):
    _subscriptions(stripe_client, stripe_catalog, 1)
    reader = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000).reader()
    newest = next(reader.list_events(["customer.subscription.created"]))
    assert reader.find_event(newest["id"]) == newest
    assert reader.find_event("evt_never_existed") is None
    stripe_emulator.app.advance(31 * 86_400)  # past the 30-day retention
    assert reader.find_event(newest["id"]) is None
