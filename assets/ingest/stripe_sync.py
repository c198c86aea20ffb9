"""Keep the stored Stripe snapshot current: a full listing now and then, Stripe's events in between.

Modes (docs/ingest.md):
- **full**: every subscription, customer, price, product and coupon is listed, the endpoints and
  `created` ranges concurrently under one request budget. It runs on the first run, when the
  cursor is older than Stripe's 30-day event retention (less a day's margin), when the last full
  listing is `full_refresh_every_days` old, or when asked (`full_refresh`). When a snapshot
  exists it is reconciled with the listing: objects that no event since the cursor explains
  must be identical, and any that differ are counted in `reconcile_differences` (should be 0).
- **incremental**: the events since the cursor (less a skew, as `created` is to the second) are
  listed; for every object they name, its newest event gives its current state, which is stored
  unless that event was already applied. The event's payload is used as is when it is in the
  pinned API version and complete; otherwise (an older version, a discount or a price's tiers not
  known yet) the object is fetched again. `*.deleted` removes customers, prices, products and
  coupons (a deleted subscription is kept, canceled, as the list shows it).

Either way, a customer that a subscription not yet ended names but the snapshot lacks is asked
for: Stripe's `deleted: true` answer is kept in the snapshot, so the deletion is reported.

A full listing is never held whole: each page is staged in the database in stored form as it
arrives (and compared with the stored objects of its ids), so memory holds a few pages and the ids.

Either way the objects, the events read and the new cursor are committed in one transaction (a
full listing's staged objects replace the snapshot in it).

Plain Python: a `StripeReader` and a `StripeSnapshotStore` in, a summary out.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe as stripe_sdk

from assets.ingest.stored_form import (
    customer_id,
    discount_objects,
    price_ids,
    stored_price,
    stored_subscription,
    with_known_discounts,
)
from assets.ingest.stripe_store import KINDS, Changes, IngestCursor, StripeSnapshotStore
from resources.stripe_ranges import Listing
from resources.stripe_reader import SUBSCRIPTION_EXPAND, SUBSCRIPTION_RETRIEVE_EXPAND, StripeReader

DAY = 86_400
EVENT_RETENTION = 30 * DAY
# A cursor read this long ago is treated as expired: Stripe's clock and ours may differ a little.
RETENTION_MARGIN = DAY
CURSOR_SKEW = 300
ENDED = frozenset({"canceled", "incomplete_expired"})  # a subscription that can never bill again

# Events that change a stored object (the `types` filter takes at most 20 names).
OBJECT_EVENT_TYPES: tuple[str, ...] = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "product.created",
    "product.updated",
    "product.deleted",
    "price.created",
    "price.updated",
    "price.deleted",
    "coupon.created",
    "coupon.updated",
    "coupon.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
    "customer.subscription.trial_will_end",
)
# Money events later stages need (lifecycle events), logged with the others: one read of Stripe.
BILLING_EVENT_TYPES: tuple[str, ...] = ("invoice.paid", "invoice.payment_failed", "refund.created", "charge.refunded")
LOGGED_EVENT_TYPES = OBJECT_EVENT_TYPES + BILLING_EVENT_TYPES

SERVICES = {"subscription": "subscriptions", "customer": "customers", "price": "prices", "product": "products",
            "coupon": "coupons"}  # fmt: skip
KIND_OF = {service: kind for kind, service in SERVICES.items()}
FULL_LISTINGS = (
    Listing("subscriptions", {"status": "all", "expand": SUBSCRIPTION_EXPAND}),
    Listing("customers"),
    Listing("prices", {"expand": ["data.tiers"]}),
    Listing("products"),
    Listing("coupons"),
)
_RETRIEVE_EXPAND = {"subscription": SUBSCRIPTION_RETRIEVE_EXPAND, "price": ["tiers"]}


@dataclass(frozen=True)
class IngestOptions:
    now: int  # Unix seconds, the run's as-of time (Stripe's clock)
    full_refresh: bool = False
    full_refresh_every_days: int = 7
    event_backfill_days: int = 7  # days of events a fresh start logs (the lifecycle's default look-back)


@dataclass
class IngestSummary:
    mode: str  # full | incremental
    reason: str  # first_run | cursor_expired | scheduled | requested (full); events (incremental)
    stripe_calls: int = 0
    stripe_calls_by_endpoint: dict[str, int] = field(default_factory=dict)
    stripe_rate_limited: int = 0
    events_read: int = 0
    events_new: int = 0
    objects_changed: dict[str, int] = field(default_factory=dict)
    objects_deleted: dict[str, int] = field(default_factory=dict)
    objects_refetched: int = 0
    deleted_customers_kept: int = 0  # customers Stripe deleted that a live subscription still names
    listed: dict[str, int] = field(default_factory=dict)
    listing_seconds: float = 0.0
    listing_calls: int = 0
    budget_per_second: float = 0.0
    reconcile_compared: int = 0
    reconcile_excluded: int = 0
    reconcile_differences: int = 0
    reconcile_sample: list[str] = field(default_factory=list)

    @property
    def budget_utilisation(self) -> float:
        """Calls per second of the full listing as a fraction of the budget (0 without a listing)."""
        if self.listing_seconds <= 0 or self.budget_per_second <= 0:
            return 0.0
        return round(self.listing_calls / self.listing_seconds / self.budget_per_second, 3)


def full_reason(cursor: IngestCursor | None, options: IngestOptions) -> str | None:
    """Why this run lists everything, or None for an incremental run."""
    if cursor is None:
        return "first_run"
    if options.now - cursor.read_at > EVENT_RETENTION - RETENTION_MARGIN:
        return "cursor_expired"
    if options.full_refresh:
        return "requested"
    if options.now - cursor.full_at >= options.full_refresh_every_days * DAY:
        return "scheduled"
    return None


def read_events(
    reader: StripeReader, since: int, *, types: Iterable[str] = ("objects", "billing"), split: bool = False
) -> list[dict]:
    """Logged event types created at or after `since`, newest first. Unsplit, Stripe's order within
    a second is kept (the newest event of an object must come first); split, a long window is
    read in concurrent `created` ranges."""
    lists = {"objects": OBJECT_EVENT_TYPES, "billing": BILLING_EVENT_TYPES}
    listings = [
        Listing("events", {"types": list(lists[name]), "created": {"gte": since}}, split=split, label=name)
        for name in types
    ]
    found = reader.list_all(listings)
    merged = [e for name in types for e in found[name]]
    merged.sort(key=lambda e: e["created"], reverse=True)  # stable: keeps Stripe's order within a second
    return merged


def _newest_by_object(events: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(kind, id) → the newest event about a stored kind of object (events come newest first)."""
    newest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for event in events:
        obj = event["data"]["object"]
        kind = obj.get("object")
        if kind in KINDS:
            newest.setdefault((kind, obj["id"]), event)
    return newest


class _Refetcher:
    def __init__(self, reader: StripeReader, summary: IngestSummary) -> None:
        self.reader, self.summary = reader, summary

    def fetch(self, kind: str, object_id: str) -> dict[str, Any] | None:
        """The object now, or None when Stripe no longer has it."""
        found = self.fetch_or_deleted(kind, object_id)
        if found is None or found.get("deleted"):
            return None
        return self.reader.with_all_items(found) if kind == "subscription" else found

    def fetch_or_deleted(self, kind: str, object_id: str) -> dict[str, Any] | None:
        """The object now; Stripe's `{"id", "object", "deleted": true}` for a deleted one; None on 404."""
        self.summary.objects_refetched += 1
        try:
            return self.reader.retrieve(SERVICES[kind], object_id, _RETRIEVE_EXPAND.get(kind))
        except stripe_sdk.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise


def _apply_events(
    reader: StripeReader, store: StripeSnapshotStore, events: list[dict], summary: IngestSummary
) -> Changes:
    """The objects the new events changed, in stored form."""
    logged = store.logged_event_ids(e["id"] for e in events)
    summary.events_new = len([e for e in events if e["id"] not in logged])
    todo = {key: e for key, e in _newest_by_object(events).items() if e["id"] not in logged}
    refetch = _Refetcher(reader, summary)
    changes = Changes(events=events)
    # The stored versions an event payload is completed from (discount objects, price tiers).
    previous = {kind: store.load(kind, [i for (k, i) in todo if k == kind]) for kind in ("subscription", "price")}
    for (kind, object_id), event in todo.items():
        payload = event["data"]["object"]
        if event["type"].endswith(".deleted") and kind != "subscription":
            changes.deletes.setdefault(kind, []).append(object_id)
            continue
        stored = _stored_from_event(kind, payload, event, reader.api_version, previous)
        if stored is None:
            fetched = refetch.fetch(kind, object_id)
            if fetched is None:
                changes.deletes.setdefault(kind, []).append(object_id)
                continue
            stored = _listed(kind, fetched)
        changes.upserts.setdefault(kind, []).append(stored)
    _add_missing_prices(store, changes, refetch)
    _resolve_missing_customers(store, changes, refetch, summary)
    return changes


def _stored_from_event(
    kind: str, payload: Mapping[str, Any], event: Mapping[str, Any], api_version: str, previous: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The stored form straight from the event, or None when the object must be fetched again."""
    if event.get("api_version") != api_version:
        return None  # rendered in an older API version: read the object in ours
    before = previous.get(kind, {}).get(payload["id"])
    if kind == "subscription":
        if (payload.get("items") or {}).get("has_more"):
            return None  # a partial item list: fetch the subscription and every item
        known = discount_objects(before) if before else {}
        complete = with_known_discounts(dict(payload), known)
        return stored_subscription(complete) if complete is not None else None
    return _stored(kind, payload, before)


def _stored(kind: str, payload: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if kind == "subscription":
        return stored_subscription(payload)
    if kind == "price":
        return stored_price(payload, before)
    return dict(payload)


def _listed(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of an object Stripe listed or returned (with the expansions we ask for)."""
    stored = _stored(kind, payload, None)
    if stored is None:
        raise RuntimeError(f"Stripe returned {kind} {payload.get('id')} without the expanded tiers asked for")
    return stored


def _add_missing_prices(store: StripeSnapshotStore, changes: Changes, refetch: _Refetcher) -> None:
    """A subscription may use a price no event told us about (created before the cursor but after
    the last listing read prices): fetch it, so every stored item's price is stored."""
    wanted = set().union(*(price_ids(s) for s in changes.upserts.get("subscription", [])))
    have = {p["id"] for p in changes.upserts.get("price", [])}
    missing = wanted - have - set(store.load("price", wanted - have))
    for price_id in sorted(missing):
        fetched = refetch.fetch("price", price_id)
        if fetched is not None:
            changes.upserts.setdefault("price", []).append(_listed("price", fetched))


def _resolve_missing_customers(
    store: StripeSnapshotStore, changes: Changes, refetch: _Refetcher, summary: IngestSummary
) -> None:
    """On a night, a subscription not yet ended may name a customer the snapshot lacks (Stripe may
    delete the customer in an event but not yet end the subscription): it is asked for
    (`_store_missing_customers`). A kept deleted customer whose last such subscription ended
    leaves, as a full listing has it; the stored subscriptions of deleted customers are found by a
    search in the database, not read all."""
    subscriptions = list(changes.upserts.get("subscription", []))
    customers = {c["id"] for c in changes.upserts.get("customer", [])}
    deleted = set(changes.deletes.get("customer", []))
    if not subscriptions and not deleted:
        return  # a quiet night: nothing to ask, nothing read
    # Kept deleted customers whose subscription ended tonight: kept no more unless another names them.
    ended = {c for s in subscriptions if s.get("status") in ENDED and (c := customer_id(s))} - customers - deleted
    kept = {i for i, c in store.load("customer", ended).items() if c.get("deleted")} if ended else set()
    customers = (customers | store.ids("customer")) - deleted
    if deleted or kept:  # their stored subscriptions are not in this run's changes
        upserted = {s["id"] for s in subscriptions}
        subscriptions += [s for i, s in store.subscriptions_of(deleted | kept).items() if i not in upserted]
    named = _named_customers(subscriptions)
    for left in sorted(kept - named):
        changes.deletes.setdefault("customer", []).append(left)
    _store_missing_customers(named - customers, changes, refetch, summary)


def _named_customers(subscriptions: Iterable[Mapping[str, Any]]) -> set[str]:
    """The customers that subscriptions not yet ended name."""
    return {c for s in subscriptions if s.get("status") not in ENDED and (c := customer_id(s))}


def _store_missing_customers(
    missing: Iterable[str], changes: Changes, refetch: _Refetcher, summary: IngestSummary
) -> None:
    """Customers a subscription not yet ended names but the snapshot lacks: deleted in Stripe (which
    lists only live customers), or created while a listing ran. Stripe is asked: a live one is
    stored; a deleted one is stored as Stripe returns it (`deleted: true`), so stripe_customers
    reports it as deleted instead of the subscription's revenue silently matching no account."""
    for customer in sorted(missing):
        found = refetch.fetch_or_deleted("customer", customer)
        if found is None:
            continue  # 404: Stripe never had it here (another account or mode); nothing to keep
        gone = {"id": customer, "object": "customer", "deleted": True}
        stored = gone if found.get("deleted") else _listed("customer", found)
        changes.upserts.setdefault("customer", []).append(stored)
        if customer in changes.deletes.get("customer", []):
            changes.deletes["customer"].remove(customer)
        summary.deleted_customers_kept += bool(found.get("deleted"))


@dataclass
class _Listed:
    """What a full listing keeps in memory: ids, not objects (those are staged in the database).
    `compare`: each page is compared with the stored objects of its ids, for `_reconcile`."""

    compare: bool
    ids: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in KINDS})
    differing: set[tuple[str, str]] = field(default_factory=set)  # (kind, id) listed unlike the stored one
    named: set[str] = field(default_factory=set)  # customers that subscriptions not yet ended name

    def take(self, store: StripeSnapshotStore, kind: str, objects: list[dict[str, Any]]) -> None:
        """Note a page of objects in stored form (read from the store by id to compare: one query a page)."""
        self.ids[kind].update(o["id"] for o in objects)
        if kind == "subscription":
            self.named |= _named_customers(objects)
        if self.compare:
            stored = store.load(kind, [o["id"] for o in objects])
            self.differing.update((kind, o["id"]) for o in objects if stored.get(o["id"]) != o)


def _full_listing(reader: StripeReader, store: StripeSnapshotStore, summary: IngestSummary, compare: bool) -> _Listed:
    """Every object, staged in stored form page by page as the pages arrive, so memory holds a few
    pages and the ids, never the listing (a million users' subscriptions are gigabytes of JSON)."""
    listed = _Listed(compare)
    store.clear_staging()
    before, started = reader.usage().calls, time.monotonic()
    for listing, page in reader.iter_pages(FULL_LISTINGS):
        kind = KIND_OF[listing.name]
        if kind == "subscription":
            # An embedded item list can stop at `has_more`: the rest are listed, never priced partially.
            page = [reader.with_all_items(s) for s in page]
        objects = [_listed(kind, p) for p in page]
        store.stage(kind, objects)
        listed.take(store, kind, objects)
    summary.listing_seconds = round(time.monotonic() - started, 3)
    summary.listing_calls = reader.usage().calls - before
    summary.listed = {kind: len(ids) for kind, ids in listed.ids.items()}
    return listed


def _add_unlisted_customers(
    store: StripeSnapshotStore, listed: _Listed, changes: Changes, refetch: _Refetcher, summary: IngestSummary
) -> None:
    """The customers the listed subscriptions name but the customer list lacks, counted as listed:
    before reconciling, so a deleted customer kept last time is on both sides."""
    _store_missing_customers(listed.named - listed.ids["customer"], changes, refetch, summary)
    listed.take(store, "customer", changes.upserts.get("customer", []))


def _reconcile(
    store: StripeSnapshotStore, listed: _Listed, explained: set[tuple[str, str]], summary: IngestSummary
) -> None:
    """Count stored objects that differ from the listing although no event explains a change."""
    differences: list[str] = []
    for kind in KINDS:
        stored = store.ids(kind)
        for object_id in sorted(stored | listed.ids[kind]):
            if (kind, object_id) in explained:
                summary.reconcile_excluded += 1
                continue
            summary.reconcile_compared += 1
            if (kind, object_id) in listed.differing or object_id not in listed.ids[kind]:
                differences.append(f"{kind}:{object_id}")
    summary.reconcile_differences = len(differences)
    summary.reconcile_sample = differences[:20]


def _event_cursor(events: list[dict], fallback: IngestCursor | None) -> tuple[int, str | None]:
    if events:
        newest = max(events, key=lambda e: e["created"])
        return newest["created"], newest["id"]
    return (fallback.event_created, fallback.event_id) if fallback else (0, None)


def sync_stripe_snapshot(reader: StripeReader, store: StripeSnapshotStore, options: IngestOptions) -> IngestSummary:
    """Bring the stored snapshot up to date with Stripe. The snapshot and the cursor change only in
    the last step (a full listing is staged aside before it)."""
    calls_before = reader.usage()
    cursor = store.cursor()
    reason = full_reason(cursor, options)
    summary = IngestSummary("incremental" if reason is None else "full", reason or "events")
    summary.budget_per_second = reader.budget.per_second

    if reason is None:
        assert cursor is not None
        events = read_events(reader, cursor.event_created - CURSOR_SKEW)
        changes = _apply_events(reader, store, events, summary)
        created, event_id = _event_cursor(events, cursor)
        new_cursor = IngestCursor(created, event_id, options.now, cursor.covers_from, cursor.full_at)
    else:
        continuous = cursor is not None and reason in ("requested", "scheduled")
        if continuous:
            assert cursor is not None
            # The log stays complete: the events since the cursor are read before the listing,
            # which is newer than all of them, so they count as applied.
            events = read_events(reader, cursor.event_created - CURSOR_SKEW)
            created, event_id = _event_cursor(events, cursor)
            covers_from = cursor.covers_from
        else:
            # A fresh start from Stripe's newest event. The last `event_backfill_days` of events
            # are logged as applied (the listing is newer than all of them): the next night does
            # not redo them, and the lifecycle events' first look-back reads them from the log.
            head = reader.page(Listing("events"), {"limit": 1}).data
            covers_from = head[0]["created"] - max(options.event_backfill_days * DAY, CURSOR_SKEW) if head else 0
            events = read_events(reader, covers_from, split=True) if head else []
            created, event_id = (head[0]["created"], head[0]["id"]) if head else (0, None)
            if events:
                created, event_id = _event_cursor(events, None)
        listed = _full_listing(reader, store, summary, compare=cursor is not None)
        staged = {kind: len(ids) for kind, ids in listed.ids.items()}
        changes = Changes(replace_all=True, events=events, staged=staged)
        _add_unlisted_customers(store, listed, changes, _Refetcher(reader, summary), summary)
        if continuous:
            # Events during the listing explain differences too (they are applied next run).
            later = read_events(reader, created - CURSOR_SKEW, types=("objects",))
            _reconcile(store, listed, set(_newest_by_object([*events, *later])), summary)
        elif cursor is not None:
            _reconcile(store, listed, set(), summary)  # after a gap: what changed unseen
        summary.events_new = len(events) - len(store.logged_event_ids(e["id"] for e in events))
        new_cursor = IngestCursor(created, event_id, options.now, covers_from, options.now)

    summary.events_read = len(events)
    summary.objects_changed = {k: len(v) for k, v in changes.upserts.items() if v and not changes.replace_all}
    summary.objects_deleted = {k: len(v) for k, v in changes.deletes.items() if v}
    store.commit(changes, new_cursor, prune_before=options.now - EVENT_RETENTION)
    usage = reader.usage()
    summary.stripe_calls = usage.calls - calls_before.calls
    summary.stripe_rate_limited = usage.rate_limited - calls_before.rate_limited
    summary.stripe_calls_by_endpoint = {
        k: v - calls_before.calls_by_endpoint.get(k, 0)
        for k, v in usage.calls_by_endpoint.items()
        if v - calls_before.calls_by_endpoint.get(k, 0)
    }
    return summary
