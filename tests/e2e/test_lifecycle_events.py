"""intercom_lifecycle_events end to end: the Stripe emulator's real events, over HTTP, into the
Intercom emulator, through the real asset, ledger and clients."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
import stripe

from assets.ingest.assets import StripeSnapshotConfig, stripe_snapshot
from assets.lifecycle import DEFAULT_EVENT_NAMES, LifecycleType
from assets.lifecycle.assets import LifecycleEventsConfig, intercom_lifecycle_events
from emulators.demo_transitions import SCENARIOS, TransitionPrices, run_transitions
from emulators.http import EmulatorServer, FaultRule
from emulators.stripe import StripeEmulator
from emulators.stripe.periods import days
from resources.intercom import IntercomResource
from resources.settings import SyncSettings
from resources.state import ContactState, StateStore, StateStoreResource
from resources.stripe import StripeResource
from tests.fixtures.openapi import validate_exchanges
from tests.fixtures.stripe_emulator import STRIPE_TEST_KEY

pytestmark = pytest.mark.slow


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class World:
    """Customers (one per scenario), their users and Intercom contacts, and the asset's inputs."""

    def __init__(self, app: StripeEmulator, client: stripe.StripeClient, http: httpx.Client, db_url: str) -> None:
        self.app, self.client, self.http, self.db_url = app, client, http, db_url
        product = client.v1.products.create({"name": "Team"})
        pro = client.v1.products.create({"name": "Pro"})

        def price(product_id: str, amount: int, interval: str, lookup: str) -> str:
            params = {"product": product_id, "currency": "usd", "unit_amount": amount, "lookup_key": lookup}
            return client.v1.prices.create({**params, "recurring": {"interval": interval}}).id  # type: ignore[arg-type]

        self.prices = TransitionPrices(
            monthly=price(product.id, 2000, "month", "team_monthly"),
            upgrade=price(pro.id, 5000, "month", "pro_monthly"),
            yearly=price(pro.id, 24000, "year", "pro_yearly"),
        )
        self.customers: dict[str, str] = {}
        self.users: dict[str, str] = {}  # customer -> user id
        rows = []
        store = StateStore(db_url)
        store.create_all()
        for n, scenario in enumerate(SCENARIOS):
            account, user = f"acct_{n}", f"user_{n}"
            customer = client.v1.customers.create({"email": f"{user}@example.com", "metadata": {"account_id": account}})
            self.customers[scenario] = customer.id
            self.users[customer.id] = user
            rows.append((customer.id, account, user))
            contact = http.post("/contacts", json={"role": "user", "external_id": user, "email": f"{user}@example.com"})
            contact.raise_for_status()
            store.save_contacts([ContactState(user, contact.json()["id"], f"{user}@example.com", None, {})])
        store.dispose()
        self.customer_accounts = pd.DataFrame(
            [(c, a, "metadata") for c, a, _ in rows], columns=["customer_id", "account_id", "matched_by"]
        )
        self.warehouse_users = pd.DataFrame(
            [(u, a, f"{u}@example.com") for _, a, u in rows], columns=["user_id", "account_id", "email"]
        )

    def materialize(self, stripe_url: str, intercom_url: str, token: str, **config: Any) -> dict[str, Any]:
        return materialize(self, stripe_url, intercom_url, token, self.app.state.now, **config)

    def periodic(self, stripe_url: str, intercom_url: str, token: str) -> Callable[[int], None]:
        """An `on_step` hook that runs the sync every nine days of emulator time, as a schedule would."""
        last = [self.app.state.now]

        def step(now: int) -> None:
            if now - last[0] >= days(9):
                last[0] = now
                self.materialize(stripe_url, intercom_url, token)

        return step

    def transitions(self, servers: tuple[EmulatorServer, EmulatorServer], token: str, scenarios=None) -> list:
        """Every scenario (or `scenarios`), with syncs in between; the final sync is the caller's."""
        customers = {k: v for k, v in self.customers.items() if scenarios is None or k in scenarios}
        hook = self.periodic(servers[0].url, servers[1].url, token)
        return run_transitions(self.app, self.client, customers, self.prices, on_step=hook)

    def intercom_events(self, user: str) -> list[dict[str, Any]]:
        body = self.http.get("/events", params={"type": "user", "user_id": user}).json()
        return sorted(body["events"], key=lambda e: (e["created_at"], e["event_name"]))


def materialize(
    world_inputs: Any, stripe_url: str, intercom_url: str, token: str, now: int, concurrency: int = 8, **config: Any
) -> dict[str, Any]:
    """One run of the real asset (direct invocation with real resources), after the Stripe
    snapshot's ingest it reads from, as in the jobs."""
    state = StateStoreResource(url=world_inputs.db_url)
    stripe_resource = StripeResource(api_key=STRIPE_TEST_KEY, base_url=stripe_url, requests_per_second=1000)
    stripe_snapshot(
        context=dg.build_asset_context(),
        config=StripeSnapshotConfig(),
        stripe=stripe_resource,
        state=state,
        settings=SyncSettings(as_of=_iso(now)),
    )
    result = intercom_lifecycle_events(
        context=dg.build_asset_context(),
        config=LifecycleEventsConfig(**{"allow_test_mode": True, **config}),
        stripe=stripe_resource,
        intercom=IntercomResource(
            access_token=token, base_url=intercom_url, max_retries=0, max_concurrency=concurrency
        ),
        state=state,
        settings=SyncSettings(as_of=_iso(now)),
        customer_accounts=world_inputs.customer_accounts,
        warehouse_users=world_inputs.warehouse_users,
    )
    state.store.dispose()
    return {k: getattr(v, "value", v) for k, v in result.metadata.items()}


@pytest.fixture
def world(stripe_app, stripe_client, intercom_http, tmp_path) -> World:
    return World(stripe_app, stripe_client, intercom_http, f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture
def any_world(stripe_app, stripe_client, intercom_http, warehouse_url) -> World:
    """The ledger on the embedded default and on PostgreSQL."""
    return World(stripe_app, stripe_client, intercom_http, warehouse_url)


def _expected_by_user(world: World, expected: list) -> dict[str, list[tuple[int, str]]]:
    by_user: dict[str, list[tuple[int, str]]] = {user: [] for user in world.users.values()}
    for e in expected:
        by_user[world.users[e.customer]].append((e.at, DEFAULT_EVENT_NAMES[LifecycleType(e.type)]))
    return {u: sorted(v) for u, v in by_user.items()}


def _stored(world: World) -> dict[str, list[tuple[int, str]]]:
    return {
        user: [(e["created_at"], e["event_name"]) for e in world.intercom_events(user)] for user in world.users.values()
    }


HEADLINE = {"mode", "events_derived", "events_sent", "events_failed", "events_without_contact", "duration_s", "details"}


def _sent_total(world: World) -> int:
    with sa.create_engine(world.db_url).connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM revsync_lifecycle_events WHERE status = 'sent'")).scalar()


def test_every_transition_once_then_nothing(any_world, stripe_emulator, intercom_emulator, intercom_token) -> None:
    world = any_world
    servers = (stripe_emulator, intercom_emulator)
    first = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)  # seeds cursor, snapshot
    assert (first["mode"], first["events_sent"]) == ("first_run", 0)

    expected = world.transitions(servers, intercom_token)  # with syncs in between, as the schedule would
    assert {e.type for e in expected} == {t.value for t in LifecycleType}
    last = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert last["mode"] == "incremental" and last["events_failed"] == 0
    assert set(last) == HEADLINE  # the detail is one entry, not a plot each
    assert last["details"]["ledger"]["sent"] == len(expected)
    assert _sent_total(world) == len(expected)
    assert _stored(world) == _expected_by_user(world, expected)

    plan_user = world.users[world.customers["plan_changes"]]
    upgrade = next(e for e in world.intercom_events(plan_user) if e["event_name"] == "upgraded-plan")
    assert upgrade["metadata"] == {
        "plan": "pro_monthly",
        "price": {"amount": 5000, "currency": "usd"},
        "mrr_before": {"amount": 2000, "currency": "usd"},
        "mrr_after": {"amount": 5000, "currency": "usd"},
        "period_end_date": upgrade["metadata"]["period_end_date"],
        "subscription_id": upgrade["metadata"]["subscription_id"],
    }
    assert upgrade["metadata"]["period_end_date"] > upgrade["created_at"]
    refund_user = world.users[world.customers["refund"]]
    refund = next(e for e in world.intercom_events(refund_user) if e["event_name"] == "refunded-charge")
    assert refund["metadata"] == {
        "price": {"amount": 1000, "currency": "usd"},
        "reason": "requested_by_customer",
        "charge_id": refund["metadata"]["charge_id"],
    }

    again = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert (again["mode"], again["events_derived"], again["events_sent"]) == ("incremental", 0, 0)


def test_older_api_version_events_end_to_end(world, stripe_emulator, intercom_emulator, intercom_token) -> None:
    world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    world.app.configure(event_api_version="2024-06-20")
    expected = world.transitions((stripe_emulator, intercom_emulator), intercom_token)
    world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    listed = world.client.v1.events.list({"limit": 100, "type": "customer.subscription.*"}).data
    assert {e.api_version for e in listed} == {"2024-06-20"}
    assert "current_period_end" in listed[0].data.object.to_dict()  # the pre-basil shape
    assert _stored(world) == _expected_by_user(world, expected)


def test_first_run_sends_only_the_lookback(world, stripe_emulator, intercom_emulator, intercom_token) -> None:
    expected = run_transitions(world.app, world.client, world.customers, world.prices)
    now = world.app.state.now
    recent = [e for e in expected if e.at >= now - days(7)]
    run = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert run["mode"] == "first_run"
    assert run["events_sent"] == len(recent) > 0
    stored = [ev for events in _stored(world).values() for ev in events]
    assert sorted(at for at, _ in stored) == sorted(e.at for e in recent)


def test_test_mode_data_needs_the_setting(world, stripe_emulator, intercom_emulator, intercom_token) -> None:
    run_transitions(world.app, world.client, world.customers, world.prices)
    run = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token, allow_test_mode=False)
    assert (run["details"]["stripe_events_read"] > 0, run["events_derived"], run["events_sent"]) == (True, 0, 0)


def test_expired_cursor_reconciles_from_snapshots(world, stripe_emulator, intercom_emulator, intercom_token) -> None:
    servers = (stripe_emulator, intercom_emulator)
    world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    world.transitions(servers, intercom_token, scenarios={"trial_converts", "purchase_renews"})
    world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    before = _stored(world)

    # 40 days without a run: the cursor's event is past Stripe's 30-day retention. In between, one
    # subscription renews (again) and is then cancelled; the trial subscription renews too.
    world.app.advance(days(40))
    sub = world.client.v1.subscriptions.list({"customer": world.customers["purchase_renews"]}).data[0]
    world.client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    world.app.advance(days(1))
    run = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert run["mode"] == "reconciliation"
    assert run["details"]["sent_by_event"] == {"cancelled-subscription": 1, "renewed-subscription": 2}
    after = _stored(world)
    for user, events in after.items():
        assert events[: len(before[user])] == before[user]  # nothing sent before is sent again
        assert len(events) == len(set(events))
    again = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert (again["mode"], again["events_sent"]) == ("incremental", 0)


def test_404_for_an_archived_contact_is_recorded_as_a_failure(
    world, stripe_emulator, intercom_emulator, intercom_token
) -> None:
    world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    user = world.users[world.customers["one_off_purchase"]]
    contact_id = world.http.get(f"/contacts/find_by_external_id/{user}").json()["id"]
    world.http.post(f"/contacts/{contact_id}/archive").raise_for_status()
    world.transitions((stripe_emulator, intercom_emulator), intercom_token, scenarios={"one_off_purchase"})
    run = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert run["events_failed"] == 0  # the in-between run that met the 404 recorded it
    with sa.create_engine(world.db_url).connect() as conn:
        errors = conn.execute(sa.text("SELECT record_key, status FROM revsync_sync_errors WHERE model = 'event'")).all()
        ledger = conn.execute(sa.text("SELECT user_id, status FROM revsync_lifecycle_events")).all()
    assert [(key.split(":")[0], status) for key, status in errors] == [(user, 404)]
    assert ledger == [(user, "failed")]


def test_a_404_is_retried_once_the_contact_is_found(world, stripe_emulator, intercom_emulator, intercom_token) -> None:
    world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    run_transitions(world.app, world.client, {"one_off_purchase": world.customers["one_off_purchase"]}, world.prices)
    intercom_emulator.app.add_faults(FaultRule(status=404, times=1, method="POST", path_regex="^/events$"))
    run = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert (run["events_sent"], run["events_failed"]) == (1, 0)
    user = world.users[world.customers["one_off_purchase"]]
    assert [e["event_name"] for e in world.intercom_events(user)] == ["made-purchase"]


# --- SIGKILL mid-send ----------------------------------------------------------------------------

KILL_SCRIPT = """
import pickle, sys
from tests.e2e.test_lifecycle_events import materialize
inputs, stripe_url, intercom_url, token, now = pickle.loads(open(sys.argv[1], "rb").read())
materialize(inputs, stripe_url, intercom_url, token, now, concurrency=1, lookback_days=30)
"""


@dataclass(frozen=True)
class Inputs:
    """What the killed subprocess needs of the world (picklable)."""

    db_url: str
    customer_accounts: pd.DataFrame
    warehouse_users: pd.DataFrame


def _posted(server: EmulatorServer) -> int:
    return server.app.counters.get("route:POST /events", 0)


def test_sigkill_mid_send_then_rerun_leaves_no_duplicate_and_no_gap(
    world, stripe_emulator, intercom_emulator, intercom_token, tmp_path
) -> None:
    expected = run_transitions(world.app, world.client, world.customers, world.prices)
    now = world.app.state.now
    expected = [e for e in expected if e.at >= now - days(30)]  # what Stripe still lists
    intercom_emulator.app.latency_ms = (100.0, 100.0)  # slow sends, so the kill lands mid-send
    args = tmp_path / "args.pickle"
    inputs = Inputs(world.db_url, world.customer_accounts, world.warehouse_users)
    args.write_bytes(pickle.dumps((inputs, stripe_emulator.url, intercom_emulator.url, intercom_token, now)))
    child = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(args)], env={**os.environ, "PYTHONPATH": "."})
    deadline = time.monotonic() + 180  # a bound, not a wait: the child imports, ingests Stripe, then sends
    while time.monotonic() < deadline and _posted(intercom_emulator) < 3:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    intercom_emulator.app.wait_idle()  # sends already on the wire still land
    posted_before_kill = _posted(intercom_emulator)
    assert 3 <= posted_before_kill < len(expected), "the kill should land mid-send"

    intercom_emulator.app.latency_ms = (0.0, 0.0)
    run = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token, lookback_days=30)
    assert (run["mode"], run["events_derived"], run["events_failed"]) == ("incremental", 0, 0)
    assert _stored(world) == _expected_by_user(world, expected)
    assert _sent_total(world) == len(expected)
    # Resent: at most the one call in flight at the kill, which Intercom de-duplicates.
    assert _posted(intercom_emulator) - len(expected) <= 1


def test_an_event_whose_customer_has_no_user_yet_is_kept_and_sent_once_the_user_exists(
    world, stripe_emulator, intercom_emulator, intercom_token
) -> None:
    first = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)  # seeds the cursor
    assert first["mode"] == "first_run"
    customer = world.customers["purchase_renews"]
    user = world.users[customer]
    matched_users = world.warehouse_users
    world.warehouse_users = matched_users[matched_users["user_id"] != user]  # checkout ran before signup
    world.client.v1.subscriptions.create({"customer": customer, "items": [{"price": world.prices.monthly}]})
    world.app.set_clock(world.app.state.now + days(1))

    waiting = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert waiting["events_without_contact"] == 1 and waiting["events_sent"] == 0
    assert world.intercom_events(user) == []

    world.app.set_clock(world.app.state.now + days(1))
    world.warehouse_users = matched_users  # the user signed up
    later = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert later["events_derived"] == 0  # not derived again: kept in the ledger
    assert later["events_sent"] == 1
    assert [e["event_name"] for e in world.intercom_events(user)] == [
        DEFAULT_EVENT_NAMES[LifecycleType.INITIAL_PURCHASE]
    ]
    again = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert again["events_sent"] == 0


def test_lifecycle_traffic_matches_the_openapi_spec(
    world, stripe_emulator, intercom_emulator, intercom_token, intercom_openapi
) -> None:
    world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)  # seeds the cursor
    for customer in (world.customers["refund"], world.customers["plan_changes"]):
        world.client.v1.subscriptions.create({"customer": customer, "items": [{"price": world.prices.monthly}]})
    world.app.set_clock(world.app.state.now + days(1))
    intercom_emulator.app.exchanges = []
    sent = world.materialize(stripe_emulator.url, intercom_emulator.url, intercom_token)
    assert sent["events_sent"] == 2
    report = validate_exchanges(intercom_emulator.app.exchanges, intercom_openapi)
    assert report.problems == []
    assert report.checked == len(intercom_emulator.app.exchanges) >= 2
