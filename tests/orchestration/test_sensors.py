"""The lifecycle sensor asks Stripe (the emulator, over HTTP) whether anything is newer than the cursor."""

from __future__ import annotations

import dagster as dg

from assets.lifecycle import STRIPE_EVENT_TYPES, Cursor, EventLedger
from orchestration.sensors import stripe_lifecycle_events_sensor
from resources.state import StateStoreResource
from resources.stripe import StripeResource
from tests.fixtures.stripe_emulator import STRIPE_TEST_KEY


def _evaluate(stripe_url: str, state: StateStoreResource):
    stripe = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_url)
    with dg.build_sensor_context(resources={"stripe": stripe, "state": state}) as context:
        return stripe_lifecycle_events_sensor(context)


def _subscribe(stripe_client, catalog) -> None:
    stripe_client.v1.subscriptions.create({"customer": catalog["customer"], "items": [{"price": catalog["monthly"]}]})


def _newest_lifecycle_event(stripe_client):
    return stripe_client.v1.events.list({"types": list(STRIPE_EVENT_TYPES), "limit": 1}).data[0]


def test_runs_only_when_stripe_has_something_new(stripe_emulator, stripe_client, stripe_catalog, tmp_path):
    state = StateStoreResource(url=f"sqlite:///{tmp_path / 'state.db'}")
    ledger = EventLedger(state.store)

    skipped = _evaluate(stripe_emulator.url, state)
    assert isinstance(skipped, dg.SkipReason) and "no Stripe event cursor" in skipped.skip_message

    _subscribe(stripe_client, stripe_catalog)
    newest = _newest_lifecycle_event(stripe_client)
    ledger.enqueue([], cursor=Cursor(newest.id, newest.created), snapshot=None)
    assert isinstance(_evaluate(stripe_emulator.url, state), dg.SkipReason)  # nothing after the cursor

    stripe_app = stripe_emulator.app
    stripe_app.set_clock(stripe_app.state.now + 60)
    _subscribe(stripe_client, stripe_catalog)
    request = _evaluate(stripe_emulator.url, state)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"stripe-{_newest_lifecycle_event(stripe_client).id}"
