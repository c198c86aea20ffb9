"""The whole push against the Intercom emulator in process (no socket), state on SQLite (and
PostgreSQL where noted). `push` also runs over real HTTP when given a server (OpenAPI, crash tests)."""

from __future__ import annotations

import asyncio
import logging

import pandas as pd
import pytest

from assets.attributes import catalog
from assets.push import AttributeSchemaError
from assets.push.runner import PushFailed, PushOptions, check_error_rate
from assets.push.service import SyncResult, sync_intercom
from emulators.http import EmulatorServer, FaultRule
from emulators.inprocess import INPROCESS_URL, InProcessTransport
from emulators.intercom import IntercomEmulator
from resources.intercom import IntercomClient, IntercomResource, IntercomTransport, RetryPolicy
from resources.state import StateStore
from tests.fixtures.intercom_emulator import FakeClock, inprocess_intercom
from tests.fixtures.synthetic import synthetic_frames
from tests.resources.intercom.test_transport import fake_sleep

log = logging.getLogger("test.intercom_push")
ATTRIBUTES = len(catalog())
CONTACT_ATTRIBUTES = sum(s.model == "contact" for s in catalog())
COMPANY_ATTRIBUTES = ATTRIBUTES - CONTACT_ATTRIBUTES


def make_store(url: str) -> StateStore:
    store = StateStore(url)
    store.create_all()
    return store


def push(target, token, store, contacts, companies, **options) -> tuple[SyncResult, int]:
    """Runs the push (in process given an `IntercomEmulator`, over HTTP given an `EmulatorServer`);
    returns its result and how many HTTP calls it made."""
    settings = {"max_concurrency": 8, "backoff_base_s": 0.01}
    if isinstance(target, EmulatorServer):
        resource = IntercomResource(access_token=token, base_url=target.url, **settings)
    else:
        resource = inprocess_intercom(target, token, **settings)

    async def run() -> tuple[SyncResult, int]:
        async with resource.open_client() as client:
            opts = PushOptions(**options)
            result = await sync_intercom(client, store, contacts, companies, catalog(), opts, "run", log)
            return result, client.transport.stats.requests

    return asyncio.run(run())


def writes(app) -> list:
    return [x for x in app.exchanges if x["request"].method != "GET"]


@pytest.fixture
def world():
    return synthetic_frames(20, users_per_account=4)


def test_first_run_creates_and_second_run_writes_nothing(intercom_app, intercom_token, warehouse_url, world):
    contacts, companies = world
    store = make_store(warehouse_url)
    result, _ = push(intercom_app, intercom_token, store, contacts, companies)
    assert result.counts() == {
        "contacts_created": 20,
        "contacts_updated": 0,
        "companies_upserted": 5,
        "attributes_written": 20 * CONTACT_ATTRIBUTES + 5 * COMPANY_ATTRIBUTES,
    }
    in_intercom = intercom_app.contacts_by_external_id()
    companies_in = intercom_app.companies_by_company_id()
    assert len(in_intercom) == 20 and len(companies_in) == 5
    user = in_intercom["user-000007"]
    assert user["custom_attributes"]["mrr"] == contacts.loc[7, "mrr"]
    assert [c["id"] for c in user["companies"]["data"]] == [companies_in["acct-00001"]["id"]]
    assert companies_in["acct-00001"]["monthly_spend"] == int(companies.loc[1, "monthly_spend"] + 0.5)

    intercom_app.exchanges = []
    result, calls = push(intercom_app, intercom_token, store, contacts, companies)
    assert writes(intercom_app) == [] and calls == 2  # the two GET /data_attributes of the schema check
    assert result.counts() == dict.fromkeys(result.counts(), 0)


def test_only_changed_attributes_are_sent_and_vanished_values_cleared(intercom_app, intercom_token, tmp_path, world):
    contacts, companies = world
    store = make_store(f"sqlite:///{tmp_path}/s.db")
    push(intercom_app, intercom_token, store, contacts, companies)
    changed = contacts.copy()
    changed.loc[3, "mrr"] = 1234.5
    changed.loc[4, "plan"] = None  # the subscription ended
    changed.loc[5, "email"] = "USER5@EXAMPLE.COM"  # same email, other case: not a change
    intercom_app.exchanges = []
    result, _ = push(intercom_app, intercom_token, store, changed, companies)
    bodies = {x["request"].path: x["request"].json() for x in writes(intercom_app)}
    ids = {k: v["id"] for k, v in intercom_app.contacts_by_external_id().items()}
    assert bodies == {
        f"/contacts/{ids['user-000003']}": {"custom_attributes": {"mrr": 1234.5}},
        f"/contacts/{ids['user-000004']}": {"custom_attributes": {"plan": None}},
    }
    assert "plan" not in intercom_app.contacts_by_external_id()["user-000004"]["custom_attributes"]
    assert (result.contacts.updated, result.contacts.cleared, result.counts()["attributes_written"]) == (2, 1, 2)


def test_409_recovery_for_live_and_archived_contacts(intercom_app, intercom_token, intercom_app_http, tmp_path, world):
    contacts, companies = world
    live = intercom_app_http.post(
        "/contacts", json={"role": "user", "external_id": "user-000001", "name": "old"}
    ).json()
    archived = intercom_app_http.post("/contacts", json={"role": "user", "external_id": "user-000002"}).json()
    intercom_app_http.post(f"/contacts/{archived['id']}/archive")
    result, _ = push(intercom_app, intercom_token, make_store(f"sqlite:///{tmp_path}/s.db"), contacts, companies)
    in_intercom = intercom_app.contacts_by_external_id()
    assert intercom_app.stats()["contacts"] == 20  # no duplicate
    assert in_intercom["user-000001"]["id"] == live["id"] and in_intercom["user-000001"]["name"] == "User 1"
    assert in_intercom["user-000002"]["id"] == archived["id"]
    assert not intercom_app.contacts.contacts[archived["id"]].archived
    assert (result.contacts.created, result.contacts.updated, result.contacts.failed) == (18, 2, 0)


def test_lead_or_email_only_user_with_our_email_is_adopted(intercom_app, intercom_token, intercom_app_http, tmp_path):
    contacts, companies = synthetic_frames(3, users_per_account=3)
    lead = intercom_app_http.post("/contacts", json={"role": "lead", "email": "user0@EXAMPLE.com"}).json()
    email_only = intercom_app_http.post("/contacts", json={"role": "user", "email": "user1@example.com"}).json()
    result, _ = push(intercom_app, intercom_token, make_store(f"sqlite:///{tmp_path}/s.db"), contacts, companies)
    in_intercom = intercom_app.contacts_by_external_id()
    assert intercom_app.stats()["contacts"] == 3
    assert (in_intercom["user-000000"]["id"], in_intercom["user-000000"]["role"]) == (lead["id"], "user")
    assert in_intercom["user-000001"]["id"] == email_only["id"]
    assert (result.contacts.adopted, result.contacts.created) == (2, 1)


def test_shared_and_changed_emails_never_duplicate(intercom_app, intercom_token, tmp_path):
    contacts, companies = synthetic_frames(3, users_per_account=3)
    contacts.loc[1, "email"] = contacts.loc[0, "email"]  # two users, one email: two Intercom users
    store = make_store(f"sqlite:///{tmp_path}/s.db")
    push(intercom_app, intercom_token, store, contacts, companies)
    contacts.loc[2, "email"] = "new-address@example.com"
    result, _ = push(intercom_app, intercom_token, store, contacts, companies)
    in_intercom = intercom_app.contacts_by_external_id()
    assert intercom_app.stats()["contacts"] == 3
    assert in_intercom["user-000000"]["email"] == in_intercom["user-000001"]["email"] == "User0@example.com"
    assert in_intercom["user-000002"]["email"] == "new-address@example.com"
    assert (result.contacts.updated, result.contacts.created) == (1, 0)


def test_attribute_type_conflict_fails_before_any_record(intercom_app, intercom_token, intercom_app_http, tmp_path):
    intercom_app_http.post("/data_attributes", json={"name": "mrr", "model": "contact", "data_type": "string"})
    intercom_app_http.post("/data_attributes", json={"name": "seat_count", "model": "company", "data_type": "integer"})
    contacts, companies = synthetic_frames(4)
    with pytest.raises(AttributeSchemaError) as info:
        push(intercom_app, intercom_token, make_store(f"sqlite:///{tmp_path}/s.db"), contacts, companies)
    assert "'mrr' is string in Intercom, revsync writes float" in str(info.value)
    assert "'seat_count' already exists on the company model" in str(info.value)
    stats = intercom_app.stats()
    assert (stats["contacts"], stats["companies"], stats["custom_attributes"]) == (0, 0, 2)


def test_attribute_cap_says_slots_left_and_who_needs_them(intercom_app, intercom_token, intercom_app_http, tmp_path):
    for i in range(240):
        intercom_app_http.post(
            "/data_attributes", json={"name": f"legacy_{i}", "model": "contact", "data_type": "string"}
        )
    contacts, companies = synthetic_frames(4)
    with pytest.raises(
        AttributeSchemaError, match=f"{ATTRIBUTES} custom attributes are needed but only 10 of 250 slots"
    ):
        push(intercom_app, intercom_token, make_store(f"sqlite:///{tmp_path}/s.db"), contacts, companies)
    assert intercom_app.stats()["custom_attributes"] == 240 and intercom_app.stats()["contacts"] == 0


def test_prefix_is_applied_to_every_attribute(intercom_app, intercom_token, tmp_path):
    contacts, companies = synthetic_frames(2)
    push(
        intercom_app, intercom_token, make_store(f"sqlite:///{tmp_path}/s.db"), contacts, companies,
        attribute_prefix="rs_",
    )  # fmt: skip
    names = set(intercom_app.data_attributes("contact")) | set(intercom_app.data_attributes("company"))
    assert names == {f"rs_{s.name}" for s in catalog()}
    assert "rs_mrr" in intercom_app.contacts_by_external_id()["user-000000"]["custom_attributes"]


def test_dry_run_sends_nothing_and_plans_everything(intercom_app, intercom_token, tmp_path, world):
    contacts, companies = world
    store = make_store(f"sqlite:///{tmp_path}/s.db")
    intercom_app.exchanges = []
    result, _ = push(intercom_app, intercom_token, store, contacts, companies, dry_run=True)
    assert writes(intercom_app) == []
    assert intercom_app.stats()["custom_attributes"] == 0
    assert len(result.schema.to_create) == ATTRIBUTES
    assert result.contact_plan.counts()["creates"] == 20 and result.contact_plan.counts()["attaches"] == 20
    assert result.company_plan.counts()["creates"] == 5
    assert store.load_contacts().empty and store.load_companies().empty


def test_failed_records_are_recorded_while_the_rest_succeed(intercom_app, intercom_token, tmp_path, world):
    contacts, companies = world
    store = make_store(f"sqlite:///{tmp_path}/s.db")
    intercom_app.add_faults(FaultRule(kind="status", status=400, times=2, method="POST", path_regex="^/contacts$"))
    result, _ = push(intercom_app, intercom_token, store, contacts, companies)
    assert (result.contacts.created, result.contacts.failed) == (18, 2)
    errors = store.errors_for_run("run")
    assert len(errors) == 2 and all(e["status"] == 400 and e["request_id"] and e["model"] == "contact" for e in errors)
    assert {e["code"] for e in errors} == {"parameter_invalid"}
    with pytest.raises(PushFailed, match="2 of 20 records failed"):
        check_error_rate(result.contacts, 0.05)
    check_error_rate(result.contacts, 0.10)
    # The next run retries exactly the two that failed (they were never confirmed).
    result, _ = push(intercom_app, intercom_token, store, contacts, companies)
    assert (result.contacts.planned, result.contacts.created, len(intercom_app.contacts_by_external_id())) == (
        2,
        2,
        20,
    )


def test_5xx_and_dropped_connections_mid_push(intercom_app, intercom_token, tmp_path, world):
    contacts, companies = world
    intercom_app.add_faults(
        FaultRule(kind="status", status=502, times=3, method="POST", path_regex="^/contacts$"),
        FaultRule(kind="drop", times=3, method="POST", path_regex="^/contacts"),
        FaultRule(kind="status", status=500, times=2, path_regex="^/companies"),
    )
    result, _ = push(intercom_app, intercom_token, make_store(f"sqlite:///{tmp_path}/s.db"), contacts, companies)
    assert result.contacts.failed == result.companies.failed == 0
    assert intercom_app.stats()["contacts"] == 20 and intercom_app.stats()["companies"] == 5


def test_429_storm_during_a_push(intercom_token, tmp_path):
    clock = FakeClock()
    app = IntercomEmulator(rate_limit_per_minute=600, clock=clock)  # 100 calls per 10-s window
    for _ in range(100):  # another app has spent this window
        app.rate_window.acquire()
    app.add_faults(FaultRule(kind="status", status=429, times=5, probability=0.2))  # and more, later
    contacts, companies = synthetic_frames(8, users_per_account=4)
    store = make_store(f"sqlite:///{tmp_path}/s.db")
    settings = {"max_concurrency": 8, "timeout_s": 5.0, "connect_timeout_s": 5.0, "retry": RetryPolicy()}
    transport = IntercomTransport(
        base_url=INPROCESS_URL, http_transport=InProcessTransport(app), access_token=intercom_token,
        api_version="2.16", clock=clock, sleep=fake_sleep(clock), **settings,
    )  # fmt: skip

    async def run() -> SyncResult:
        try:
            client = IntercomClient(transport)
            return await sync_intercom(client, store, contacts, companies, catalog(), PushOptions(), "run", log)
        finally:
            await transport.aclose()

    start = clock.now
    result = asyncio.run(run())
    assert result.contacts.failed == 0 and app.stats()["contacts"] == 8
    assert transport.stats.rate_limited == 6 and app.stats()["rate_limited"] == 1
    assert clock.now - start >= 10  # each 429 made every caller wait for a window reset
    assert transport.stats.requests - 6 == 2 + ATTRIBUTES + 2 + 1 + 8 + 8  # nothing else was repeated


def test_full_resync_rewrites_every_value(intercom_app, intercom_token, intercom_app_http, tmp_path, world):
    contacts, companies = world
    store = make_store(f"sqlite:///{tmp_path}/s.db")
    push(intercom_app, intercom_token, store, contacts, companies)
    contact_id = intercom_app.contacts_by_external_id()["user-000000"]["id"]
    intercom_app_http.put(f"/contacts/{contact_id}", json={"custom_attributes": {"plan": "edited-in-intercom"}})
    assert push(intercom_app, intercom_token, store, contacts, companies)[0].contacts.planned == 0
    result, _ = push(intercom_app, intercom_token, store, contacts, companies, full_resync=True)
    assert result.contacts.updated == 20 and result.companies.updated == 5
    plan = intercom_app.contacts_by_external_id()["user-000000"]["custom_attributes"]["plan"]
    assert plan == pd.Series(contacts.loc[0, "plan"]).item()


def test_a_success_status_with_a_body_that_is_not_json_fails_only_that_record(
    intercom_app, intercom_token, tmp_path, world
):
    contacts, companies = world
    store = make_store(f"sqlite:///{tmp_path}/s.db")
    intercom_app.add_faults(FaultRule(kind="malformed", status=200, times=1, method="POST", path_regex="^/contacts$"))
    result, _ = push(intercom_app, intercom_token, store, contacts, companies)
    assert (result.contacts.created, result.contacts.failed) == (19, 1)
    (error,) = store.errors_for_run("run")
    assert (error["code"], error["status"]) == ("invalid_response", 200)
    result, _ = push(intercom_app, intercom_token, store, contacts, companies)  # the next run completes it
    assert result.contacts.created == 1 and len(intercom_app.contacts_by_external_id()) == 20
