"""`StoredStripe`: what later stages read instead of Stripe, against the emulator over HTTP."""

from __future__ import annotations

import pytest

from assets.ingest.stored_reader import SnapshotMissing, StoredStripe
from assets.ingest.stripe_store import StripeSnapshotStore
from assets.ingest.stripe_sync import (
    BILLING_EVENT_TYPES,
    LOGGED_EVENT_TYPES,
    OBJECT_EVENT_TYPES,
    IngestOptions,
    sync_stripe_snapshot,
)
from assets.lifecycle.from_events import STRIPE_EVENT_TYPES
from emulators.stripe.periods import days
from resources.state.store import StateStore
from resources.stripe import StripeResource
from tests.fixtures.stripe_emulator import STRIPE_TEST_KEY

CREATED = "customer.subscription.created"


def test_every_event_the_lifecycle_reads_is_logged_and_each_filter_fits_stripes_limit():
    assert set(STRIPE_EVENT_TYPES) <= set(LOGGED_EVENT_TYPES)
    assert len(OBJECT_EVENT_TYPES) <= 20 and len(BILLING_EVENT_TYPES) <= 20  # Stripe's `types` limit


@pytest.fixture
def reader(stripe_emulator):
    return StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000).reader()


def test_reading_before_the_ingest_ran_is_a_clear_error(tmp_path, reader):
    stored = StoredStripe(StripeSnapshotStore(StateStore(f"sqlite:///{tmp_path / 's.db'}")), reader)
    with pytest.raises(SnapshotMissing, match="materialize the stripe_snapshot asset"):
        stored.list_subscriptions()
    with pytest.raises(ValueError, match="does not log Stripe events"):
        next(stored.list_events(["payment_intent.succeeded"]))


def test_events_come_from_the_log_and_only_older_ones_from_stripe(
    tmp_path, stripe_app, stripe_client, stripe_catalog, reader
):
    def subscribe() -> str:
        items = [{"price": stripe_catalog["monthly"]}]
        return stripe_client.v1.subscriptions.create({"customer": stripe_catalog["customer"], "items": items}).id

    old_sub, start = subscribe(), stripe_app.state.now
    stripe_app.advance(days(2))
    new_sub = subscribe()
    snapshot = StripeSnapshotStore(StateStore(f"sqlite:///{tmp_path / 's.db'}"))
    sync_stripe_snapshot(reader, snapshot, IngestOptions(stripe_app.state.now, event_backfill_days=0))
    stored = StoredStripe(snapshot, reader)
    assert {s["id"] for s in stored.list_subscriptions()} == {old_sub, new_sub}
    assert all(isinstance(s["items"]["data"][0]["price"], dict) for s in stored.list_subscriptions())

    calls = reader.usage().calls
    events = stored.list_events([CREATED], created_gte=start)
    newest = next(events)
    assert newest["data"]["object"]["id"] == new_sub
    assert reader.usage().calls == calls  # the log answered
    older = list(events)
    assert [e["data"]["object"]["id"] for e in older] == [old_sub]  # from Stripe, before the log began
    assert reader.usage().calls == calls + 1
    assert stored.find_event(newest["id"]) == newest
    assert reader.usage().calls == calls + 1
