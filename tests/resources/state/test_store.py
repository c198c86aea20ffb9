"""The push state store on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from resources.state import CompanyState, ContactState, StateStore, StateStoreResource, SyncError


def store_for(url: str, prefix: str = "revsync_") -> StateStore:
    store = StateStore(url, prefix)
    store.create_all()
    return store


def test_contacts_round_trip_and_upsert(warehouse_url):
    store = store_for(warehouse_url)
    store.save_contacts([ContactState("u1", "ic1", "A@x.com", "acc1", {"custom_attributes.mrr": 10.5, "name": "A"})])
    store.save_contacts([ContactState("u1", "ic1", "a@x.com", None, {"custom_attributes.plan": "pro"})])
    frame = store.load_contacts()
    assert frame.loc["u1"].to_dict() == {
        "intercom_id": "ic1",
        "email": "a@x.com",
        "company_id": None,
        "values": {"custom_attributes.plan": "pro"},
    }


def test_pending_marks_never_overwrite_confirmed_rows(warehouse_url):
    store = store_for(warehouse_url)
    store.save_contacts([ContactState("u1", "ic1", None, None, {"name": "A"})])
    store.mark_pending_contacts(["u1", "u2"])
    frame = store.load_contacts()
    assert frame.loc["u1", "intercom_id"] == "ic1"
    assert frame.loc["u2", "intercom_id"] is None and frame.loc["u2", "values"] == {}


def test_confirmed_contacts_are_those_asked_about_that_have_an_intercom_id(warehouse_url):
    store = store_for(warehouse_url)
    many = [ContactState(f"u{n}", f"ic{n}", None, None, {}) for n in range(1500)]  # more than one IN list
    store.save_contacts(many)
    store.mark_pending_contacts(["pending"])
    asked = ["u1", "u1499", "pending", "unknown", "u1"]
    assert store.confirmed_contacts(asked) == {"u1", "u1499"}
    assert store.confirmed_contacts([]) == set()


def test_companies_errors_and_runs(warehouse_url):
    store = store_for(warehouse_url)
    store.save_companies([CompanyState("acc1", "co1", {"monthly_spend": 100})])
    assert store.load_companies().loc["acc1"].to_dict() == {"intercom_id": "co1", "values": {"monthly_spend": 100}}
    store.start_run("run1", "contact", dry_run=False)
    store.record_errors("run1", [SyncError("contact", "u9", "email", 409, "conflict", "taken", "req-1")])
    store.finish_run("run1", "contact", planned=3, done=2, failed=1)
    (error,) = store.errors_for_run("run1")
    assert [error[k] for k in ("record_key", "field", "code", "request_id")] == ["u9", "email", "conflict", "req-1"]
    with store.engine.connect() as conn:
        run = conn.execute(sa.select(store.sync_runs)).one()._mapping
    assert (run["planned"], run["done"], run["failed"], run["dry_run"]) == (3, 2, 1, False)
    assert run["finished_at"] is not None


def test_prefix_applies_to_every_table_including_other_modules(warehouse_url):
    store = StateStore(warehouse_url, "acme_")
    ledger = store.define_table("events_ledger", sa.Column("event_id", sa.String(64), primary_key=True))
    store.create_all()
    names = set(sa.inspect(store.engine).get_table_names())
    expected = {"acme_contacts", "acme_companies", "acme_sync_errors", "acme_sync_runs", "acme_events_ledger"}
    assert expected <= names and ledger.name == "acme_events_ledger"
    assert not any(n.startswith("revsync_") for n in names)


def test_resource_creates_tables_outside_a_run(sqlite_url):
    store = StateStoreResource(url=sqlite_url, table_prefix="x_").store
    assert "x_contacts" in sa.inspect(store.engine).get_table_names()


def test_one_confirmed_field_is_read_by_the_database(warehouse_url):
    store = store_for(warehouse_url)
    seg, mrr = "custom_attributes.p_seg", "custom_attributes.p_mrr"  # the dot is part of the key, not a path
    store.save_contacts(
        [
            ContactState("u1", "ic1", None, None, {seg: True, mrr: 5.5}),
            ContactState("u2", "ic2", None, None, {seg: False}),
            ContactState("u3", "ic3", None, None, {"custom_attributes": {"p_seg": True}}),
        ]
    )
    store.mark_pending_contacts(["u4"])
    store.save_companies([CompanyState("acc1", "co1", {mrr: 12})])
    assert store.count_true("contact", [seg, mrr.replace("mrr", "none")]) == {seg: 1, mrr.replace("mrr", "none"): 0}
    assert store.count_true("contact", []) == {}
    assert store.confirmed_numbers("contact", mrr).to_dict() == {"u1": 5.5}
    assert store.confirmed_numbers("company", mrr).to_dict() == {"acc1": 12.0}
    assert store.count_true("company", [seg]) == {seg: 0}


def test_keyed_loads_read_only_those_rows_across_query_batches(warehouse_url):
    store = store_for(warehouse_url)
    store.save_contacts([ContactState(f"u{i:04d}", f"ic{i}", None, None, {"name": str(i)}) for i in range(1200)])
    store.save_companies([CompanyState("acc1", "co1", {"plan": "pro"}), CompanyState("acc2", "co2", {})])
    wanted = [f"u{i:04d}" for i in range(0, 1200, 2)] + ["u9999"]  # 601 keys: two queries; one never stored
    frame = store.load_contacts(wanted)
    assert sorted(frame.index) == wanted[:-1]
    assert frame.loc["u0998", "values"] == {"name": "998"} and frame.loc["u0998", "intercom_id"] == "ic998"
    assert store.load_contacts([]).empty and list(store.load_contacts([]).columns) == list(frame.columns)
    assert store.load_companies(["acc2"]).to_dict("index") == {"acc2": {"intercom_id": "co2", "values": {}}}
    assert store.company_ids() == {"acc1": "co1", "acc2": "co2"}
