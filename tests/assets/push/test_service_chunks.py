"""A push carried out in chunks ends exactly as one carried out whole: Intercom, the state store,
the summary and the metadata. Real HTTP to two emulators prepared alike; state on SQLite and
PostgreSQL (the keyed state reads of each chunk)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from assets.push.assets import push_metadata
from assets.push.service import SyncResult
from emulators.http import EmulatorServer
from resources.state import StateStore
from tests.assets.push.test_service import push
from tests.fixtures.intercom_emulator import FakeClock, intercom_headers
from tests.fixtures.synthetic import synthetic_frames

USERS, PER_ACCOUNT, CHUNK = 40, 4, 7  # 6 chunks, the last one short
TIMING = ("requests", "duration_s", "cpu_s")  # requests: a chunk searches for its own new records


def prepared_emulator(make_intercom_emulator, token: str) -> EmulatorServer:
    """Leads to adopt and a user Intercom already holds (409 recovery), spread over the chunks."""
    server = make_intercom_emulator()
    with httpx.Client(base_url=server.url, headers=intercom_headers(token)) as http:
        for n in (1, 12, 33):
            http.post("/contacts", json={"role": "lead", "email": f"user{n}@EXAMPLE.com"})
        http.post("/contacts", json={"role": "user", "external_id": "user-000025", "name": "old"})
        http.post("/contacts", json={"role": "user", "external_id": "user-000030"})  # a crashed run's create
    return server


def intercom_state(app) -> dict[str, Any]:
    """What Intercom holds, without its ids (each emulator numbers its own)."""
    companies = app.companies_by_company_id()
    by_id = {c["id"]: key for key, c in companies.items()}
    contacts = {
        key: (
            c["role"],
            c["email"],
            c["name"],
            c["custom_attributes"],
            [by_id[x["id"]] for x in c["companies"]["data"]],
        )
        for key, c in app.contacts_by_external_id().items()
    }
    fields = ("name", "plan", "monthly_spend", "custom_attributes")
    return {
        "contacts": contacts,
        "count": app.stats()["contacts"],
        "companies": {key: [c.get(f) for f in fields] for key, c in companies.items()},
    }


def store_state(store: StateStore, app) -> dict[str, Any]:
    """The state store's rows (Intercom ids checked against Intercom, then left out), errors and runs."""
    contacts, companies = store.load_contacts(), store.load_companies()
    in_intercom = app.contacts_by_external_id()
    assert all(contacts.loc[k, "intercom_id"] == c["id"] for k, c in in_intercom.items() if k in contacts.index)
    with store.engine.connect() as conn:
        runs = conn.execute(sa.select(store.sync_runs).order_by(store.sync_runs.c.model)).all()
    errors = store.errors_for_run("run")
    return {
        "contacts": contacts.drop(columns="intercom_id").sort_index().to_dict("index"),
        "companies": companies["values"].sort_index().to_dict(),
        "errors": sorted((e["model"], e["record_key"], e["field"], e["status"], e["code"]) for e in errors),
        "runs": [(r.model, r.dry_run, r.planned, r.done, r.failed) for r in runs],
    }


def outcome(result: SyncResult, searches: int) -> dict[str, Any]:
    """The summaries (timing aside; requests without the lookups' searches) and the metadata."""
    out: dict[str, Any] = {}
    for model, summary, plan in (
        ("company", result.companies, result.company_plan),
        ("contact", result.contacts, result.contact_plan),
    ):
        counts = summary.counts()
        out[model] = {k: v for k, v in counts.items() if k not in TIMING}
        out[f"{model}_errors"] = sorted((e.record_key, e.field, e.code) for e in summary.errors)
        metadata = push_metadata(summary, plan, dry_run=True)  # the dry run's counts and plan table too
        out[f"{model}_metadata"] = {
            k: getattr(v, "value", getattr(v, "md_str", v)) for k, v in metadata.items() if k not in TIMING
        }
        out[f"{model}_plan_rows"] = plan.table_rows()
    out["requests"] = result.companies.requests + result.contacts.requests - searches
    return out


def night(server: EmulatorServer, token: str, store: StateStore, frames, **options) -> dict[str, Any]:
    server.app.counters.clear()
    result, _ = push(server, token, store, *frames, **options)
    searches = server.app.counters["route:POST /contacts/search"]
    return {"outcome": outcome(result, searches), "searches": searches}


def test_a_push_in_chunks_ends_exactly_as_a_push_in_one(make_intercom_emulator, intercom_token, warehouse_url):
    contacts, companies = synthetic_frames(USERS, users_per_account=PER_ACCOUNT)
    contacts.loc[17, "email"] = "x" * 300 + "@example.com"  # refused, in the third chunk
    changed = contacts.assign(mrr=contacts["mrr"] + 1)
    changed.loc[[3, 20, 38], "plan"] = None  # cleared
    changed.loc[22, "company_id"] = "acct-00000"  # moved: detached, then attached
    changed.loc[17, "email"] = "user17@example.com"  # accepted now: created on the second night
    ends: dict[str, list[dict[str, Any]]] = {}
    for prefix, chunk_size in (("whole_", 10_000), ("chunks_", CHUNK)):
        server = prepared_emulator(make_intercom_emulator, intercom_token)
        store = StateStore(warehouse_url, prefix)
        store.create_all()
        store.mark_pending_contacts(["user-000030"])
        ends[prefix] = []
        for frames, options in (
            ((contacts, companies), {}),
            ((changed, companies), {"dry_run": True}),
            ((changed, companies), {}),
        ):
            pushed = night(server, intercom_token, store, frames, chunk_size=chunk_size, **options)
            ends[prefix].append(
                {**pushed, "intercom": intercom_state(server.app), "store": store_state(store, server.app)}
            )
    whole, chunked = ends["whole_"], ends["chunks_"]
    first = whole[0]["outcome"]["contact"]
    assert (first["created"], first["updated"], first["adopted"], first["failed"]) == (34, 5, 3, 1)  # as prepared
    assert whole[0]["intercom"]["count"] == USERS - 1
    assert whole[2]["outcome"]["contact"]["cleared"] == 3 and whole[2]["outcome"]["contact"]["detached"] == 1
    for one, many in zip(whole, chunked, strict=True):
        assert many["outcome"] == one["outcome"]
        assert many["intercom"] == one["intercom"]
        assert many["store"] == one["store"]
    assert [n["searches"] for n in whole] == [1, 0, 1]
    assert [n["searches"] for n in chunked] == [6, 0, 1]  # one per chunk with new records: chunks happened


def test_a_later_chunk_never_adopts_the_lead_an_earlier_chunk_took(make_intercom_emulator, intercom_token, sqlite_url):
    """Search lags writes: the second chunk's search still shows the lead the first chunk adopted."""
    clock = FakeClock()
    server = make_intercom_emulator(search_lag_seconds=60, clock=clock)
    with httpx.Client(base_url=server.url, headers=intercom_headers(intercom_token)) as http:
        lead = http.post("/contacts", json={"role": "lead", "email": "shared@example.com"}).json()
    clock.advance(120)
    contacts, companies = synthetic_frames(8, users_per_account=4)
    contacts.loc[[1, 6], "email"] = "shared@example.com"  # two users, one email, in two chunks
    store = StateStore(sqlite_url)
    store.create_all()

    result, _ = push(server, intercom_token, store, contacts, companies, chunk_size=4)

    in_intercom = server.app.contacts_by_external_id()
    assert in_intercom["user-000001"]["id"] == lead["id"]
    assert in_intercom["user-000006"]["id"] != lead["id"]
    assert server.app.stats()["contacts"] == 8 and len(in_intercom) == 8
    assert (result.contacts.adopted, result.contacts.created, result.contacts.failed) == (1, 7, 0)


def test_a_contact_adopted_through_a_409_is_not_adopted_again_by_a_later_chunk(
    make_intercom_emulator, intercom_token, sqlite_url
):
    """Chunk 1 adopts an email-only user through the 409 (its search ran before the user was
    indexed); chunk 2's search, 70 s after the user's creation but 40 s after the adoption, still
    shows the user without an external id. Chunk 2's record with the same email must not take it
    over. Chunk 2 may be planned while chunk 1's record is still recovering, so either record can
    be the one that adopts; the other never overwrites it."""
    clock = FakeClock()
    server = make_intercom_emulator(search_lag_seconds=60, clock=clock)
    with httpx.Client(base_url=server.url, headers=intercom_headers(intercom_token)) as http:
        only_email = http.post("/contacts", json={"role": "user", "email": "shared@example.com"}).json()
    clock.advance(30)
    searches: list[str] = []
    before_route = server.app.before_route

    def second_search_later(request):  # the emulator's clock, moved at the network edge
        if request.path == "/contacts/search":
            searches.append(request.path)
            if len(searches) == 2:
                clock.advance(40)
        return before_route(request)

    server.app.before_route = second_search_later
    contacts, companies = synthetic_frames(8, users_per_account=4)
    contacts.loc[[1, 6], "email"] = "shared@example.com"  # two users, one email, in two chunks
    store = StateStore(sqlite_url)
    store.create_all()

    result, _ = push(server, intercom_token, store, contacts, companies, chunk_size=4)

    assert len(searches) == 2
    in_intercom = server.app.contacts_by_external_id()
    owner = next(key for key, contact in in_intercom.items() if contact["id"] == only_email["id"])
    assert owner in ("user-000001", "user-000006") and result.contacts.adopted == 1
    stored = store.load_contacts()
    confirmed = stored[stored["intercom_id"].notna()]
    assert confirmed["intercom_id"].is_unique
    for key, intercom_id in confirmed["intercom_id"].items():  # no record's contact belongs to another
        assert in_intercom[key]["id"] == intercom_id
    assert {e.code for e in result.contacts.errors} <= {"identity_conflict"}


@pytest.mark.parametrize("chunk_size", [1, 3, 10_000])
def test_the_first_planned_rows_and_counts_do_not_depend_on_the_chunks(
    make_intercom_emulator, intercom_token, sqlite_url, chunk_size
):
    """A dry run plans and sends nothing, chunk by chunk; the sample and the table keep input order."""
    contacts, companies = synthetic_frames(25, users_per_account=5)
    server = make_intercom_emulator()
    store = StateStore(sqlite_url)
    store.create_all()
    result, _ = push(server, intercom_token, store, contacts, companies, dry_run=True, chunk_size=chunk_size)
    assert [r["key"] for r in result.contact_plan.table_rows(20)] == contacts["external_id"].head(20).tolist()
    assert result.contact_plan.counts()["creates"] == 25 and result.contact_plan.planned == 25
    assert result.company_plan.counts()["creates"] == 5 and result.contacts.planned == 25
    assert server.app.stats()["contacts"] == 0 and store.load_contacts().empty
