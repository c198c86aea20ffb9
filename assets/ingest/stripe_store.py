"""The stored Stripe snapshot: objects, the event log and the ingest cursor, in the state store.

Tables on the state store's engine and prefix (`revsync_` by default):
- `stripe_objects`: one row per (kind, id) for subscriptions, customers, prices, products and
  coupons, the payload in its stored form (assets/ingest/normalize.py).
- `stripe_events`: the Stripe events the ingest has read (objects' and billing events), kept
  for Stripe's 30-day retention. Later stages (lifecycle events) read them here instead of
  listing Stripe again.
- `stripe_ingest_cursor`: one row: the newest event read, when it was read, since when the event
  log is complete, and when the last full listing ran.
- `stripe_objects_staging`: a full listing's objects, written page by page while it runs (`stage`),
  so the listing is never held in memory whole; no reader looks at it.

Every run's changes, its events and the new cursor are written in one transaction (`commit`); a
full listing's staged objects replace `stripe_objects` in that same transaction. A crash before it
leaves the previous night's snapshot and cursor (and staged rows the next full listing clears
first), and the re-run reads the same events again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from assets.ingest.stored_form import customer_id
from resources.state.batches import BATCH, batched
from resources.state.store import StateStore

StripeObject = dict[str, Any]
KINDS = ("subscription", "customer", "price", "product", "coupon")
# Column specs: resources/state/columns.py.
_TABLES = """
stripe_objects        kind str32 key, id str255 key, created bigint, payload json
stripe_events         id str255 key, type str128, created bigint index, payload json
stripe_ingest_cursor  name str32 key, event_created bigint, event_id str255 null, read_at bigint,
                      covers_from bigint, full_at bigint
stripe_objects_staging  kind str32 key, id str255 key, created bigint, payload json
"""
_OBJECT_COLUMNS = ("kind", "id", "created", "payload")


@dataclass(frozen=True)
class IngestCursor:
    """`event_created`/`event_id`: the newest event read (id None: none yet); `read_at`: when the
    events were last read (everything Stripe had until then is applied); `covers_from`: the event
    log holds every event created since then; `full_at`: when the last full listing ran."""

    event_created: int
    event_id: str | None
    read_at: int
    covers_from: int
    full_at: int


@dataclass
class Changes:
    """One run's writes. `replace_all`: the staged full listing (`stage`) replaces the snapshot,
    and `upserts` and `deletes` apply on top of it."""

    upserts: dict[str, list[StripeObject]] = field(default_factory=dict)
    deletes: dict[str, list[str]] = field(default_factory=dict)
    replace_all: bool = False
    events: list[StripeObject] = field(default_factory=list)
    staged: dict[str, int] = field(default_factory=dict)  # replace_all: objects this run staged, by kind


class StagingMismatch(Exception):
    """The staging table does not hold exactly what this run listed: another full listing shared
    it (each one empties it first). Nothing is committed; the next full listing starts over."""


class StripeSnapshotStore:
    def __init__(self, store: StateStore) -> None:
        self.engine = store.engine
        self.objects, self.events, self.cursor_table, self.staging = store.ensure_tables(_TABLES)

    # -- reads ----------------------------------------------------------------------------
    def cursor(self) -> IngestCursor | None:
        t = self.cursor_table
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.name == "stripe")).first()
        if row is None:
            return None
        return IngestCursor(row.event_created, row.event_id, row.read_at, row.covers_from, row.full_at)

    def load(self, kind: str, ids: Iterable[str] | None = None) -> dict[str, StripeObject]:
        """Stored objects of a kind by id (all, or only `ids`)."""
        t = self.objects.c
        query = sa.select(t.id, t.payload).where(t.kind == kind)
        if ids is None:
            with self.engine.connect() as conn:
                return {row.id: row.payload for row in conn.execute(query)}
        wanted, found = sorted(set(ids)), {}
        with self.engine.connect() as conn:
            for batch in batched(wanted):
                found.update({row.id: row.payload for row in conn.execute(query.where(t.id.in_(batch)))})
        return found

    def iter_payloads(self, kind: str) -> Iterator[StripeObject]:
        """Every stored object of a kind, read from the database in batches: for a pass over all
        of them that need not hold them all (a million subscriptions' JSON is gigabytes)."""
        t = self.objects.c
        query = sa.select(t.payload).where(t.kind == kind)
        with self.engine.connect() as conn:
            yield from conn.execution_options(yield_per=BATCH).execute(query).scalars()

    def subscriptions_of(self, customer_ids: Iterable[str]) -> dict[str, StripeObject]:
        """Stored subscriptions naming one of these customers, by id. The payload text is searched
        for each id in the database, so only the few matching rows are read and parsed, not every
        stored subscription."""
        t, wanted, found = self.objects.c, sorted(set(customer_ids)), {}
        text = sa.cast(t.payload, sa.Text)
        with self.engine.connect() as conn:
            for chunk in batched(wanted, 100):  # one LIKE per id: fewer per query than an IN list
                naming = sa.or_(*(text.contains(f'"{i}"', autoescape=True) for i in chunk))
                rows = conn.execute(sa.select(t.id, t.payload).where(t.kind == "subscription", naming))
                found.update({row.id: row.payload for row in rows if customer_id(row.payload) in chunk})
        return found

    def ids(self, kind: str) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(self.objects.c.id).where(self.objects.c.kind == kind)).scalars())

    def has_objects(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(self.objects.c.id).limit(1)).first() is not None

    def logged_event_ids(self, ids: Iterable[str]) -> set[str]:
        wanted, found = sorted(set(ids)), set()
        with self.engine.connect() as conn:
            for batch in batched(wanted):
                found |= set(conn.execute(sa.select(self.events.c.id).where(self.events.c.id.in_(batch))).scalars())
        return found

    def logged_events(
        self, types: Sequence[str], created_gte: int | None = None, created_lt: int | None = None
    ) -> list[StripeObject]:
        """Logged events of these types, newest first."""
        t = self.events.c
        query = sa.select(t.payload).where(t.type.in_(list(types)))
        if created_gte is not None:
            query = query.where(t.created >= created_gte)
        if created_lt is not None:
            query = query.where(t.created < created_lt)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(t.created.desc(), t.id.desc())).scalars())

    def logged_event(self, event_id: str) -> StripeObject | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(self.events.c.payload).where(self.events.c.id == event_id)).scalar()

    # -- a full listing, staged ------------------------------------------------------------
    def clear_staging(self) -> None:
        """Empty the staging table (of a listing that failed before its commit)."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(self.staging))

    def stage(self, kind: str, payloads: Sequence[StripeObject]) -> None:
        """Write objects of a full listing aside, in their own transaction; `commit` swaps them in."""
        if payloads:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(self.staging), _rows(kind, payloads))

    # -- the one write --------------------------------------------------------------------
    def commit(self, changes: Changes, cursor: IngestCursor, prune_before: int) -> None:
        """Apply a run's objects and events and move the cursor, all or nothing. Events created
        before `prune_before` (Stripe no longer keeps them) leave the log."""
        t = self.objects
        with self.engine.begin() as conn:
            if changes.replace_all:
                _check_staged(conn, self.staging, changes.staged)
                # Copied inside the database: the listing never passes through this process again.
                conn.execute(sa.delete(t))
                staged = sa.select(*(self.staging.c[name] for name in _OBJECT_COLUMNS))
                conn.execute(sa.insert(t).from_select(list(_OBJECT_COLUMNS), staged))
                conn.execute(sa.delete(self.staging))
            for kind in KINDS:
                rows = _rows(kind, changes.upserts.get(kind, []))
                gone = [*changes.deletes.get(kind, []), *(row["id"] for row in rows)]
                for batch in batched(gone):
                    conn.execute(sa.delete(t).where(t.c.kind == kind, t.c.id.in_(batch)))
                for batch in batched(rows):
                    conn.execute(sa.insert(t), batch)
            if changes.events:
                known = set()
                ids = [e["id"] for e in changes.events]
                for batch in batched(ids):
                    known |= set(conn.execute(sa.select(self.events.c.id).where(self.events.c.id.in_(batch))).scalars())
                new = {e["id"]: e for e in changes.events if e["id"] not in known}
                rows = [{"id": e["id"], "type": e["type"], "created": e["created"], "payload": e} for e in new.values()]
                for batch in batched(rows):
                    conn.execute(sa.insert(self.events), batch)
            conn.execute(sa.delete(self.events).where(self.events.c.created < prune_before))
            conn.execute(sa.delete(self.cursor_table).where(self.cursor_table.c.name == "stripe"))
            conn.execute(
                sa.insert(self.cursor_table),
                {
                    "name": "stripe",
                    "event_created": cursor.event_created,
                    "event_id": cursor.event_id,
                    "read_at": cursor.read_at,
                    "covers_from": cursor.covers_from,
                    "full_at": cursor.full_at,
                },
            )


def _check_staged(conn: sa.Connection, staging: sa.Table, expected: dict[str, int]) -> None:
    counts = sa.select(staging.c.kind, sa.func.count()).group_by(staging.c.kind)
    found = {str(kind): int(n) for kind, n in conn.execute(counts)}
    wanted = {kind: n for kind, n in expected.items() if n}
    if found != wanted:
        raise StagingMismatch(
            f"the staged Stripe listing holds {found} objects by kind, but this run listed {wanted}: another "
            "full listing ran at the same time; nothing was committed, the snapshot and cursor are unchanged"
        )


def _rows(kind: str, payloads: Iterable[StripeObject]) -> list[dict[str, Any]]:
    return [{"kind": kind, "id": p["id"], "created": int(p.get("created") or 0), "payload": p} for p in payloads]
