"""Transport behaviour: auth, headers, per-endpoint rate limit, injected faults, SDK retries."""

from __future__ import annotations

import httpx
import pytest
import stripe

from emulators.http import EmulatorServer, FaultRule
from emulators.stripe import StripeEmulator
from emulators.stripe.render import PINNED_API_VERSION
from tests.fixtures.stripe_emulator import STRIPE_TEST_KEY


def test_missing_key_is_401_with_stripes_message(stripe_emulator: EmulatorServer) -> None:
    response = httpx.get(f"{stripe_emulator.url}/v1/customers")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")
    assert response.headers["Request-Id"].startswith("req_")


def test_wrong_key_is_401_with_masked_key(stripe_emulator: EmulatorServer) -> None:
    client = stripe.StripeClient("pk_test_1234abcd", base_addresses={"api": stripe_emulator.url})
    with pytest.raises(stripe.AuthenticationError) as info:
        client.v1.customers.list()
    assert info.value.http_status == 401
    assert info.value.user_message == "Invalid API Key provided: pk_test_****abcd"


def test_an_explicit_key_set_rejects_other_valid_looking_keys(
    stripe_app: StripeEmulator, stripe_emulator: EmulatorServer
) -> None:
    stripe_app.api_keys = {STRIPE_TEST_KEY}
    try:
        other = stripe.StripeClient("sk_test_someoneelse", base_addresses={"api": stripe_emulator.url})
        with pytest.raises(stripe.AuthenticationError):
            other.v1.customers.list()
    finally:
        stripe_app.api_keys = None


def test_every_response_has_request_id_and_stripe_version(stripe_client: stripe.StripeClient) -> None:
    customers = stripe_client.v1.customers.list()
    headers = customers.last_response.headers
    assert headers["Request-Id"].startswith("req_")
    assert headers["Stripe-Version"] == PINNED_API_VERSION == stripe.api_version


def test_rate_limit_is_per_endpoint(stripe_app: StripeEmulator, stripe_client: stripe.StripeClient) -> None:
    stripe_app.configure(rate_limit=3)
    for _ in range(3):
        stripe_client.v1.subscriptions.list()
    with pytest.raises(stripe.RateLimitError) as info:
        stripe_client.v1.subscriptions.list()
    assert info.value.http_status == 429 and info.value.json_body["error"]["code"] == "rate_limit"
    assert info.value.user_message.startswith("Request rate limit exceeded.")
    stripe_client.v1.customers.list()  # another endpoint is unaffected
    created = stripe_client.v1.customers.create({})
    for _ in range(3):
        stripe_client.v1.customers.retrieve(created.id)
    with pytest.raises(stripe.RateLimitError):
        stripe_client.v1.customers.retrieve(created.id)


def test_injected_500_is_retried_by_the_sdk_when_allowed(
    stripe_app: StripeEmulator, stripe_emulator: EmulatorServer
) -> None:
    stripe_app.add_faults(FaultRule(kind="status", status=500, times=1, path_regex="^/v1/customers$"))
    retrying = stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": stripe_emulator.url}, max_network_retries=2)
    assert retrying.v1.customers.list().data == []
    assert stripe_app.counters["status:500"] == 1 and stripe_app.counters["status:200"] == 1

    stripe_app.add_faults(FaultRule(kind="status", status=500, times=1))
    once = stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": stripe_emulator.url}, max_network_retries=0)
    with pytest.raises(stripe.APIError) as info:
        once.v1.customers.list()
    assert info.value.json_body["error"]["type"] == "api_error"


def test_dropped_connection_surfaces_as_connection_error(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient
) -> None:
    stripe_app.add_faults(FaultRule(kind="drop", times=1))
    with pytest.raises(stripe.APIConnectionError):
        stripe_client.v1.customers.list()
    assert stripe_client.v1.customers.list().data == []


def test_unknown_object_is_404_resource_missing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.subscriptions.retrieve("sub_nope")
    assert info.value.http_status == 404 and info.value.code == "resource_missing"
    assert info.value.user_message == "No such subscription: 'sub_nope'"
