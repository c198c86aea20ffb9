"""The lifecycle service on plain types, called directly without Dagster: Stripe as the stored
snapshot shows it (synced from the Stripe emulator over HTTP first, as the jobs do), an Intercom
client (the Intercom emulator in process), the ledger and the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from assets.ingest.stored_reader import StoredStripe
from assets.ingest.stripe_store import StripeSnapshotStore
from assets.ingest.stripe_sync import IngestOptions, sync_stripe_snapshot
from assets.lifecycle.collect import CollectOptions
from assets.lifecycle.ledger import EventLedger
from assets.lifecycle.model import resolve_event_names
from assets.lifecycle.service import LifecycleOptions, LifecycleSummary, sync_lifecycle_events
from assets.revenue import RevenueRules
from resources.state import ContactState, StateStore
from resources.stripe import StripeResource
from tests.fixtures.intercom_emulator import inprocess_intercom
from tests.fixtures.stripe_emulator import STRIPE_TEST_KEY

log = logging.getLogger("test.lifecycle_service")


@pytest.fixture
def store(warehouse_url):
    store = StateStore(warehouse_url)
    store.create_all()
    yield store
    store.dispose()


def run(stripe_emulator, intercom_app, token, store, customers, users, **options) -> LifecycleSummary:
    now = datetime.fromtimestamp(stripe_emulator.app.state.now, UTC)
    collect = CollectOptions(
        now=now, names=resolve_event_names(), rules=RevenueRules(), lookback=timedelta(days=7), allow_test_mode=True
    )
    live = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000).reader()
    snapshot = StripeSnapshotStore(store)
    sync_stripe_snapshot(live, snapshot, IngestOptions(stripe_emulator.app.state.now))
    reader = StoredStripe(snapshot, live)
    intercom = inprocess_intercom(intercom_app, token, max_retries=0)
    return intercom.run_with_client(
        lambda client: sync_lifecycle_events(
            reader,
            client,
            EventLedger(store),
            store,
            customers,
            users,
            LifecycleOptions(collect, **options),
            "run",
            log,
        )
    )


def test_sends_each_event_once_and_records_customers_without_users(
    stripe_emulator, stripe_client, stripe_catalog, intercom_app, intercom_app_http, intercom_token, store
):
    reached = stripe_catalog["customer"]
    unreached = stripe_client.v1.customers.create({"email": "x@example.com", "metadata": {"account_id": "acc_2"}}).id
    for customer in (reached, unreached):
        stripe_client.v1.subscriptions.create({"customer": customer, "items": [{"price": stripe_catalog["monthly"]}]})
    contact = intercom_app_http.post("/contacts", json={"role": "user", "external_id": "user_1"}).json()
    store.save_contacts([ContactState("user_1", contact["id"], None, None, {})])
    customers = pd.DataFrame({"customer_id": [reached, unreached], "account_id": ["acc_1", "acc_2"]})
    users = pd.DataFrame({"user_id": ["user_1"], "account_id": ["acc_1"]})

    first = run(stripe_emulator, intercom_app, intercom_token, store, customers, users)
    assert (first.collected.mode, first.queued, first.unaddressed, first.sent.failed) == ("first_run", 1, 1, 0)
    (name,) = first.sent.sent
    assert first.sent.sent[name] == 1 and first.ledger == {"sent": 1, "unaddressed": 1}
    (event,) = intercom_app.events_for("user_1")
    listed = stripe_client.v1.events.list({"type": "customer.subscription.created"}).data
    (created,) = [e.created for e in listed if e.data.object.customer == reached]
    assert (event["event_name"], event["created_at"]) == (name, created)  # Stripe's own time: resends dedupe
    (problem,) = store.errors_for_run("run")
    assert (problem["code"], problem["record_key"].split(":")[0]) == ("no_contact", unreached)

    second = run(stripe_emulator, intercom_app, intercom_token, store, customers, users)
    assert (second.collected.mode, second.queued, sum(second.sent.sent.values())) == ("incremental", 0, 0)
    assert len(intercom_app.events_for("user_1")) == 1


def test_warns_when_event_names_near_intercom_limit(stripe_emulator, intercom_app, intercom_token, store, caplog):
    others = [f"other-tool-event-{i}" for i in range(105)]
    empty = pd.DataFrame({"customer_id": [], "account_id": []})
    users = pd.DataFrame({"user_id": [], "account_id": []})
    with caplog.at_level(logging.WARNING, logger=log.name):
        summary = run(stripe_emulator, intercom_app, intercom_token, store, empty, users, other_event_names=others)
    assert summary.budget.distinct == 105 + len(resolve_event_names())
    assert summary.budget.warning and summary.budget.warning in caplog.text
