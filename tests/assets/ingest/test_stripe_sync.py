"""The stored Stripe snapshot against the Stripe emulator over HTTP, on SQLite and PostgreSQL:
incremental nights equal a full listing after changes of every kind; expiry, schedule and request
fall back to a full listing; a failure before the commit loses nothing; a quiet night costs only
the event pages."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
import sqlalchemy as sa
import stripe

from assets.ingest.stripe_store import KINDS, Changes, IngestCursor, StagingMismatch, StripeSnapshotStore
from assets.ingest.stripe_sync import IngestOptions, IngestSummary, sync_stripe_snapshot
from emulators.http import FaultRule
from emulators.stripe import StripeEmulator, objects
from emulators.stripe.periods import days
from resources import stripe_reader
from resources.state.store import StateStore
from resources.stripe import StripeResource
from resources.stripe_ranges import Listing, Page
from tests.fixtures.stripe_emulator import STRIPE_TEST_KEY


@dataclass
class Catalog:
    team: str
    pro: str
    monthly: str
    yearly: str
    tiered: str
    coupon: str


@dataclass
class Harness:
    app: StripeEmulator
    url: str
    client: stripe.StripeClient
    store: StateStore

    def sync(self, full_refresh: bool = False, full_refresh_every_days: int = 7) -> IngestSummary:
        reader = StripeResource(api_key=STRIPE_TEST_KEY, base_url=self.url, requests_per_second=1000).reader()
        options = IngestOptions(self.app.state.now, full_refresh, full_refresh_every_days)
        return sync_stripe_snapshot(reader, StripeSnapshotStore(self.store), options)

    def snapshot(self, store: StateStore | None = None) -> dict[str, dict[str, dict]]:
        snapshot = StripeSnapshotStore(store or self.store)
        return {kind: snapshot.load(kind) for kind in KINDS}

    def full_listing(self) -> dict[str, dict[str, dict]]:
        """What a first run lists now, stored apart (its own table prefix) for comparison."""
        fresh = StateStore(str(self.store.engine.url.render_as_string(hide_password=False)), table_prefix="fresh_")
        fresh.create_all()
        try:
            reader = StripeResource(api_key=STRIPE_TEST_KEY, base_url=self.url, requests_per_second=1000).reader()
            summary = sync_stripe_snapshot(reader, StripeSnapshotStore(fresh), IngestOptions(self.app.state.now))
            assert summary.reason == "first_run"
            return self.snapshot(fresh)
        finally:
            with fresh.engine.begin() as conn:
                for table in reversed(fresh.metadata.sorted_tables):
                    conn.execute(sa.text(f"DROP TABLE {table.name}"))
            fresh.dispose()

    def advance(self, seconds: int) -> None:
        self.app.advance(seconds)


@pytest.fixture
def harness(stripe_emulator, stripe_app, stripe_client, warehouse_url) -> Iterator[Harness]:
    store = StateStore(warehouse_url)
    store.create_all()
    yield Harness(stripe_app, stripe_emulator.url, stripe_client, store)
    store.dispose()


def _catalog(client: stripe.StripeClient) -> Catalog:
    team = client.v1.products.create({"name": "Team"}).id
    pro = client.v1.products.create({"name": "Pro"}).id

    def price(product: str, amount: int, interval: str) -> str:
        params = {"product": product, "currency": "usd", "unit_amount": amount, "recurring": {"interval": interval}}
        return client.v1.prices.create(params).id  # type: ignore[arg-type]

    tiered = _tiered_price(client, pro, "graduated", (5, 1000, 500))
    coupon = client.v1.coupons.create({"percent_off": 20, "duration": "forever"}).id
    return Catalog(team, pro, price(team, 2000, "month"), price(pro, 24000, "year"), tiered, coupon)


def _tiered_price(client: stripe.StripeClient, product: str, mode: str, tiers: tuple[int, int, int]) -> str:
    """A monthly tiered price: (first tier's size, its unit amount, the unit amount beyond)."""
    up_to, first, beyond = tiers
    params = {
        "product": product,
        "currency": "usd",
        "billing_scheme": "tiered",
        "tiers_mode": mode,
        "tiers": [{"up_to": up_to, "unit_amount": first}, {"up_to": "inf", "unit_amount": beyond}],
        "recurring": {"interval": "month"},
    }
    return client.v1.prices.create(params).id  # type: ignore[arg-type]


def _customer(client: stripe.StripeClient, email: str) -> str:
    return client.v1.customers.create({"email": email, "payment_method": "pm_card_visa"}).id


def _subscribe(client: stripe.StripeClient, customer: str, price: str, **params: object) -> str:
    return client.v1.subscriptions.create({"customer": customer, "items": [{"price": price}], **params}).id  # type: ignore[arg-type]


def _seed(h: Harness) -> tuple[Catalog, dict[str, str], dict[str, str]]:
    catalog = _catalog(h.client)
    customers = {name: _customer(h.client, f"{name}@example.com") for name in ("ann", "bob", "cy", "dee")}
    subs = {
        "ann": _subscribe(h.client, customers["ann"], catalog.monthly, discounts=[{"coupon": catalog.coupon}]),
        "bob": _subscribe(h.client, customers["bob"], catalog.tiered),
        "cy": _subscribe(h.client, customers["cy"], catalog.yearly),
    }
    return catalog, customers, subs


def _change_everything(h: Harness, catalog: Catalog, customers: dict[str, str], subs: dict[str, str]) -> None:
    c = h.client
    # New customer, on a price created after the last listing.
    new_price = c.v1.prices.create(
        {"product": catalog.team, "currency": "usd", "unit_amount": 3000, "recurring": {"interval": "month"}}
    ).id
    eve = _customer(c, "eve@example.com")
    subs["eve"] = _subscribe(c, eve, new_price)
    # A new tiered price: its event carries no tiers, so it is fetched with them.
    tiered = _tiered_price(c, catalog.pro, "volume", (10, 900, 700))
    subs["fay"] = _subscribe(c, _customer(c, "fay@example.com"), tiered, items=[{"price": tiered, "quantity": 12}])
    # Updates: seats and a scheduled cancellation, a plan change, an immediate cancellation.
    ann_item = c.v1.subscriptions.retrieve(subs["ann"]).items.data[0].id
    c.v1.subscriptions.update(subs["ann"], {"items": [{"id": ann_item, "quantity": 3}], "cancel_at_period_end": True})
    bob_item = c.v1.subscriptions.retrieve(subs["bob"]).items.data[0].id
    c.v1.subscriptions.update(subs["bob"], {"items": [{"id": bob_item, "price": catalog.monthly}]})
    c.v1.subscriptions.cancel(subs["cy"])
    # A discount the stored subscription did not have: the subscription is fetched again.
    extra = c.v1.coupons.create({"amount_off": 500, "currency": "usd", "duration": "forever"}).id
    c.v1.subscriptions.update(subs["eve"], {"discounts": [{"coupon": extra}]})
    # Catalogue changes: labels of a price, product and coupon; a coupon and a product deleted.
    c.v1.prices.update(catalog.monthly, {"nickname": "Team monthly", "metadata": {"tier": "team"}})
    c.v1.products.update(catalog.pro, {"name": "Pro plan"})
    c.v1.coupons.update(catalog.coupon, {"name": "Twenty off"})
    c.v1.coupons.delete(c.v1.coupons.create({"percent_off": 5, "duration": "once"}).id)
    c.v1.products.delete(c.v1.products.create({"name": "Short-lived"}).id)
    # Customers: an email change and a deletion.
    c.v1.customers.update(customers["bob"], {"email": "robert@example.com"})
    c.v1.customers.delete(customers["dee"])


def test_incremental_nights_equal_a_full_listing(harness: Harness) -> None:
    catalog, customers, subs = _seed(harness)
    first = harness.sync()
    assert (first.mode, first.reason, first.listed["subscription"]) == ("full", "first_run", 3)

    harness.advance(days(1))
    _change_everything(harness, catalog, customers, subs)
    night = harness.sync()
    assert (night.mode, night.reason) == ("incremental", "events")
    assert set(night.stripe_calls_by_endpoint) <= {
        "GET /v1/events", "GET /v1/subscriptions/{id}", "GET /v1/prices/{id}",
    }  # fmt: skip
    # Only the new tiered price and the subscription with a new discount needed a fetch.
    assert night.objects_refetched == 2
    assert night.objects_deleted == {"customer": 1, "coupon": 1, "product": 1}
    assert harness.snapshot() == harness.full_listing()

    # Billing moves on (renewals, the scheduled cancellation): more nights, still equal.
    for _ in range(3):
        harness.advance(days(12))
        assert harness.sync(full_refresh_every_days=60).mode == "incremental"
    stored = harness.snapshot()
    assert stored == harness.full_listing()
    assert stored["customer"][customers["bob"]]["email"] == "robert@example.com"
    assert stored["price"][catalog.monthly]["nickname"] == "Team monthly"
    assert customers["dee"] not in stored["customer"]
    assert stored["subscription"][subs["cy"]]["status"] == "canceled"


def test_a_deleted_customer_a_live_subscription_names_is_kept_as_stripe_answers(harness: Harness) -> None:
    """Stripe answers a lookup of a deleted customer with `deleted: true` and lists it no more. While
    a subscription not yet ended names it, the snapshot keeps that answer (stripe_customers reports
    it as deleted), on a first run and an incremental night alike; without one, it is removed."""
    _, customers, _ = _seed(harness)
    gone = {name: {"id": customers[name], "object": "customer", "deleted": True} for name in ("ann", "bob")}
    harness.client.v1.customers.delete(customers["ann"])  # the emulator leaves ann's subscription live

    first = harness.sync()
    assert (first.mode, first.deleted_customers_kept) == ("full", 1)
    assert harness.snapshot()["customer"][customers["ann"]] == gone["ann"]

    harness.advance(days(1))
    harness.client.v1.customers.delete(customers["bob"])
    harness.client.v1.customers.delete(customers["dee"])  # no subscription: simply gone
    night = harness.sync()
    assert (night.mode, night.deleted_customers_kept) == ("incremental", 1)
    stored = harness.snapshot()
    assert stored["customer"][customers["bob"]] == gone["bob"] and customers["dee"] not in stored["customer"]
    assert stored == harness.full_listing()
    assert harness.sync(full_refresh=True).reconcile_differences == 0


def test_a_kept_deleted_customer_leaves_once_its_last_live_subscription_ends(harness: Harness) -> None:
    """The deleted customer is kept only while a subscription not yet ended names it: when that
    subscription is canceled on an incremental night, the customer goes too, as a full listing
    has it, and the weekly full refresh finds no difference to warn about."""
    _, customers, subs = _seed(harness)
    harness.client.v1.customers.delete(customers["ann"])  # the emulator leaves ann's subscription live
    harness.sync()
    assert harness.snapshot()["customer"][customers["ann"]]["deleted"] is True

    harness.advance(days(1))
    harness.client.v1.subscriptions.cancel(subs["ann"])
    night = harness.sync()
    assert night.mode == "incremental"
    stored = harness.snapshot()
    assert stored["subscription"][subs["ann"]]["status"] == "canceled"
    assert customers["ann"] not in stored["customer"]
    assert stored == harness.full_listing()

    harness.advance(days(1))
    assert harness.sync(full_refresh=True).reconcile_differences == 0


def test_a_full_refresh_reconciles_with_zero_differences_and_reports_drift(harness: Harness) -> None:
    catalog, customers, subs = _seed(harness)
    harness.sync()
    harness.advance(days(1))
    _change_everything(harness, catalog, customers, subs)
    harness.sync()
    harness.advance(days(1))

    clean = harness.sync(full_refresh=True)
    assert (clean.mode, clean.reason, clean.reconcile_differences) == ("full", "requested", 0)
    assert clean.reconcile_compared > 0

    # A stored object that drifted without an event (as a missed event would leave it) is reported.
    snapshot = StripeSnapshotStore(harness.store)
    team = snapshot.load("product", [catalog.team])[catalog.team]
    objects = snapshot.objects
    with harness.store.engine.begin() as conn:
        conn.execute(
            sa.update(objects)
            .where(objects.c.kind == "product", objects.c.id == catalog.team)
            .values(payload={**team, "name": "Stale"})
        )
    harness.advance(days(1))
    drift = harness.sync(full_refresh=True)
    assert (drift.reconcile_differences, drift.reconcile_sample) == (1, [f"product:{catalog.team}"])
    assert harness.snapshot() == harness.full_listing()  # the listing replaced it


def test_full_listing_on_schedule_and_after_the_cursor_expires(harness: Harness) -> None:
    _, customers, _ = _seed(harness)
    harness.sync()
    harness.advance(days(6))
    assert harness.sync().mode == "incremental"
    harness.advance(days(1))
    scheduled = harness.sync()
    assert (scheduled.mode, scheduled.reason) == ("full", "scheduled")
    assert harness.sync(full_refresh_every_days=30).mode == "incremental"

    harness.client.v1.customers.update(customers["ann"], {"email": "ann@new.example.com"})
    harness.advance(days(31))  # Stripe no longer has every event since the cursor
    expired = harness.sync(full_refresh_every_days=60)
    assert (expired.mode, expired.reason) == ("full", "cursor_expired")
    assert expired.reconcile_differences >= 1  # what changed unseen during the gap is reported
    assert harness.snapshot() == harness.full_listing()


def test_a_listing_whose_staged_pages_another_listing_cleared_commits_nothing(harness: Harness) -> None:
    """Full listings share one staging table and each empties it first: a run whose pages a second
    run's start cleared must not swap that partial table in as the snapshot."""
    _seed(harness)
    harness.sync()
    snapshot = StripeSnapshotStore(harness.store)
    before, cursor = harness.snapshot(), snapshot.cursor()
    assert cursor is not None
    customers = list(before["customer"].values())
    snapshot.clear_staging()
    snapshot.stage("customer", customers)  # run A stages its customers...
    snapshot.clear_staging()  # ...run B starts its own listing...
    snapshot.stage("customer", customers[:1])  # ...and stages its first page
    changes = Changes(replace_all=True, staged={"customer": len(customers)})
    with pytest.raises(StagingMismatch, match="another full listing ran at the same time"):
        snapshot.commit(changes, replace(cursor, full_at=cursor.full_at + 1), prune_before=0)
    assert harness.snapshot() == before and snapshot.cursor() == cursor


def test_a_failure_between_fetching_and_committing_loses_nothing(harness: Harness) -> None:
    catalog, customers, subs = _seed(harness)
    harness.sync()
    cursor = StripeSnapshotStore(harness.store).cursor()
    before = harness.snapshot()

    harness.advance(days(1))
    # Events in an older API version make the ingest fetch each changed object: fail those fetches.
    harness.app.configure(event_api_version="2024-06-20")
    _change_everything(harness, catalog, customers, subs)
    harness.app.add_faults(FaultRule(kind="status", status=500, times=None, path_regex=r"^/v1/customers/cus_"))
    with pytest.raises(stripe.APIError):
        harness.sync()
    assert StripeSnapshotStore(harness.store).cursor() == cursor
    assert harness.snapshot() == before

    harness.app.faults.clear()
    again = harness.sync()
    assert again.mode == "incremental" and again.objects_refetched > 0
    assert harness.snapshot() == harness.full_listing()


def test_a_quiet_night_costs_only_the_event_pages(harness: Harness) -> None:
    _seed(harness)
    harness.sync()
    harness.advance(days(1))
    quiet = harness.sync()
    assert quiet.mode == "incremental"
    # One page of the objects' events and one of the billing events; nothing listed or fetched.
    assert quiet.stripe_calls_by_endpoint == {"GET /v1/events": 2} and quiet.stripe_calls == 2
    assert (quiet.objects_refetched, quiet.objects_changed, quiet.objects_deleted) == (0, {}, {})


def test_a_subscription_with_more_items_than_stripe_embeds_is_stored_whole(harness: Harness) -> None:
    """Stripe embeds a few items and says `has_more`: the rest are listed from
    /v1/subscription_items, on the full listing and on a night's event, never a partial list."""
    catalog = _catalog(harness.client)
    monthly = {"currency": "usd", "recurring": {"interval": "month"}, "product": catalog.team}
    prices = [harness.client.v1.prices.create({**monthly, "unit_amount": 100 * (i + 1)}).id for i in range(5)]  # type: ignore[arg-type]
    items = [{"price": p, "quantity": 2} for p in prices]
    customer = _customer(harness.client, "many@example.com")
    listed = harness.client.v1.subscriptions.create({"customer": customer, "items": items}).id  # type: ignore[arg-type]
    harness.app.embedded_items_limit = 2  # Stripe embeds a few items, then says has_more
    embedded = harness.client.v1.subscriptions.retrieve(listed).to_dict()["items"]
    assert len(embedded["data"]) == 2 and embedded["has_more"]

    first = harness.sync()
    assert first.mode == "full"
    harness.advance(days(1))
    from_event = harness.client.v1.subscriptions.create({"customer": customer, "items": items}).id  # type: ignore[arg-type]
    night = harness.sync()
    assert (night.mode, night.objects_changed.get("subscription")) == ("incremental", 1)

    stored = harness.snapshot()["subscription"]
    for sub_id in (listed, from_event):
        whole = stored[sub_id]["items"]
        assert [i["price"] for i in whole["data"]] == prices and whole["has_more"] is False
    assert stored == harness.full_listing()["subscription"]


def test_the_subscriptions_of_deleted_customers_are_found_without_reading_every_subscription(warehouse_url) -> None:
    """A night that deletes a customer reads only the stored subscriptions naming it (the payload
    is searched in the database), exactly: `_` and `%` in an id are not wildcards, a longer id
    that starts with it is not it, and an expanded customer object counts."""

    store = StateStore(warehouse_url)
    store.create_all()
    snapshot = StripeSnapshotStore(store)
    subs = [
        {"id": "sub_a", "customer": "cus_1", "status": "active"},
        {"id": "sub_b", "customer": "cus_1", "status": "canceled"},
        {"id": "sub_c", "customer": "cusX1", "status": "active"},  # `_` would match X as a wildcard
        {"id": "sub_d", "customer": "cus_10", "status": "active"},
        {"id": "sub_e", "customer": {"id": "cus_%", "object": "customer"}, "status": "active"},
        {"id": "sub_f", "customer": "cus_2", "status": "active", "metadata": {"note": "was cus_1"}},
    ]
    snapshot.commit(Changes(upserts={"subscription": subs}, replace_all=True), IngestCursor(0, None, 0, 0, 0), 0)
    try:
        assert sorted(snapshot.subscriptions_of(["cus_1"])) == ["sub_a", "sub_b"]
        assert sorted(snapshot.subscriptions_of(["cus_%", "cus_2"])) == ["sub_e", "sub_f"]
        assert snapshot.subscriptions_of([]) == {}
    finally:
        store.dispose()


def _staged_rows(snapshot: StripeSnapshotStore) -> int:
    with snapshot.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(snapshot.staging)).scalar_one())


def test_a_full_listing_that_fails_before_its_commit_leaves_the_snapshot_and_cursor(harness: Harness, monkeypatch):
    """A full listing is staged page by page while it runs, but the snapshot and the cursor change
    only in the commit's transaction: a failure before it leaves both as they were, and the next
    full listing clears what was staged and ends equal to a fresh listing."""
    catalog, customers, subs = _seed(harness)
    harness.sync()
    snapshot = StripeSnapshotStore(harness.store)
    cursor, before = snapshot.cursor(), harness.snapshot()
    harness.advance(days(1))
    _change_everything(harness, catalog, customers, subs)

    def killed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed before the commit")

    with monkeypatch.context() as patched:
        patched.setattr(StripeSnapshotStore, "commit", killed)
        with pytest.raises(RuntimeError, match="killed"):
            harness.sync(full_refresh=True)
    assert snapshot.cursor() == cursor and harness.snapshot() == before
    assert _staged_rows(snapshot) > 0  # the listing was written aside, not into the snapshot

    again = harness.sync(full_refresh=True)
    assert (again.mode, again.reason, again.reconcile_differences) == ("full", "requested", 0)
    assert _staged_rows(snapshot) == 0
    assert harness.snapshot() == harness.full_listing()


def test_a_full_listing_holds_a_few_pages_at_a_time_and_none_after_the_sync(
    harness: Harness, stripe_emulator, monkeypatch
) -> None:
    """Each page is staged and let go as it arrives: while 420 customers are listed in pages of 10,
    at most the pages in flight and the one being staged are alive, and once the sync returns no
    listed object is (freed by reference counting alone, while the reader, which a job keeps for
    its later steps, is still alive)."""
    now = harness.app.state.now
    rows = [objects.customer(f"cus_{n:03d}", created=now - 1000 + n // 7, email=f"{n}@x.io") for n in range(420)]
    harness.app.load({"customers": rows})
    monkeypatch.setattr(stripe_reader, "PAGE_SIZE", 10)
    listed: list[weakref.ref[dict]] = []
    most_alive = 0
    read_page = stripe_reader.StripeReader.page

    def recording(self: stripe_reader.StripeReader, listing: Listing, params: dict) -> Page:
        nonlocal most_alive
        page = read_page(self, listing, params)
        listed.extend(weakref.ref(o) for o in page.data)
        most_alive = max(most_alive, sum(ref() is not None for ref in listed))
        return page

    monkeypatch.setattr(stripe_reader.StripeReader, "page", recording)
    reader = StripeResource(
        api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000, max_concurrency=4
    ).reader()
    gc.collect()
    gc.disable()  # a reference cycle would keep the listing until some later collection
    try:
        summary = sync_stripe_snapshot(reader, StripeSnapshotStore(harness.store), IngestOptions(now))
        alive = [ref() for ref in listed if ref() is not None]
    finally:
        gc.enable()
    assert summary.listed["customer"] == 420 and len(listed) >= 420
    assert most_alive <= (4 + 2) * 10  # pages in flight, the one being staged, the one just read
    assert alive == []
