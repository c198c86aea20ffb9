"""The lifecycle-event ledger: an outbox of Intercom events, the Stripe event cursor, the snapshot.

Tables on the state store's engine and prefix (`revsync_` by default):
- `lifecycle_events`: one row per (fact key, contact): the event exactly as it will be sent
  (name, Unix `created_at`, metadata) and its status, `pending` → `sent` | `failed`.
- `lifecycle_cursor`: the newest Stripe event read (id and created, row `events`) and when the
  snapshot was taken (`created` of row `snapshot`).
- `lifecycle_snapshot`: the subscriptions as of the last run, for reconciliation when the
  cursor has fallen out of Stripe's 30-day event retention; `taken_at` is when a row was written.
- `lifecycle_snapshot_digest`: a digest of each snapshot row's payload, so that a run rewrites
  only the subscriptions that changed since the last one.

Exactly once: new events, the cursor and the snapshot are written in one transaction *before*
anything is sent, so a crash can only leave events pending, never lost. Pending events are sent on
the next run with the same `created_at`, which Intercom de-duplicates if the crash came between its
202 and our `sent` mark.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from assets.lifecycle.model import LifecycleEvent, LifecycleType, utc
from assets.lifecycle.policy import SentFact
from resources.state.batches import batched
from resources.state.store import StateStore

PENDING, SENT, FAILED = "pending", "sent", "failed"
# An event whose customer reaches no user yet: kept (user_id "") and addressed on a later run.
UNADDRESSED, NO_USER = "unaddressed", ""
# Column specs: resources/state/columns.py.
_TABLES = """
lifecycle_events    key str255 key, user_id str255 key, type str64, name str255, customer_id str255,
                    subscription_id str255 null, stripe_event_id str255 null, created_at bigint, metadata json,
                    status str16 index, attempts int, error text null, queued_at time, sent_at time null
lifecycle_cursor    name str32 key, event_id str255 null, created bigint, updated_at time
lifecycle_snapshot  subscription_id str255 key, taken_at bigint, payload json
lifecycle_snapshot_digest  subscription_id str255 key, digest str32
"""
EVENTS_CURSOR, SNAPSHOT_TIME = "events", "snapshot"  # rows of lifecycle_cursor


@dataclass(frozen=True)
class Cursor:
    """Events up to `created` are read; `event_id` is the newest of them (None: there was none)."""

    event_id: str | None
    created: int


@dataclass(frozen=True)
class Outgoing:
    """One event for one contact, as stored and as sent."""

    key: str
    user_id: str
    name: str
    created_at: int
    metadata: Mapping[str, Any]
    type: LifecycleType
    attempts: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class EventLedger:
    def __init__(self, store: StateStore) -> None:
        self.engine = store.engine
        self.events, self.cursor_table, self.snapshot_table, self.digest_table = store.ensure_tables(_TABLES)

    # -- reads ----------------------------------------------------------------------------
    def cursor(self) -> Cursor | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.cursor_table).where(self.cursor_table.c.name == EVENTS_CURSOR)).first()
        return Cursor(row.event_id, row.created) if row else None

    def snapshot(self) -> tuple[int, list[dict[str, Any]]] | None:
        """(taken_at, subscription payloads) of the last run, or None before the first."""
        t = self.cursor_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.snapshot_table.c.taken_at, self.snapshot_table.c.payload)).all()
            taken_at = conn.execute(sa.select(t.created).where(t.name == SNAPSHOT_TIME)).scalar()
        if not rows:
            return None
        # A snapshot written before its time was kept in lifecycle_cursor: each row carries it.
        return (taken_at if taken_at is not None else max(r.taken_at for r in rows), [r.payload for r in rows])

    def facts(self, keys: Iterable[str], since: datetime | None = None) -> list[SentFact]:
        """The facts queued so far (sent, pending or failed) among `keys`, and with `since` every fact
        that happened since then: none of them is queued again. Keyed, so that it costs what a run
        derived, not the whole history."""
        t = self.events.c
        query = sa.select(t.key, t.type, t.subscription_id, sa.func.min(t.created_at)).group_by(
            t.key, t.type, t.subscription_id
        )
        wanted = sorted(set(keys))
        queries = [query.where(t.key.in_(batch)) for batch in batched(wanted)]
        if since is not None:
            queries.append(query.having(sa.func.min(t.created_at) >= int(since.timestamp())))
        with self.engine.connect() as conn:
            rows = [row for q in queries for row in conn.execute(q)]
        return [SentFact(r[0], LifecycleType(r[1]), r[2], utc(r[3])) for r in rows]

    def unaddressed_customers(self) -> set[str]:
        """Customers of the events kept until one of their users exists."""
        t = self.events.c
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(t.customer_id).where(t.status == UNADDRESSED).distinct()).scalars())

    def names(self) -> set[str]:
        """Every event name revsync ever queued (renamed events still count in Intercom)."""
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(self.events.c.name).distinct()).scalars())

    def pending(self) -> list[Outgoing]:
        t = self.events.c
        query = sa.select(t.key, t.user_id, t.name, t.created_at, t.metadata, t.type, t.attempts).where(
            t.status == PENDING
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.created_at, t.key, t.user_id)).all()
        return [Outgoing(r[0], r[1], r[2], r[3], r[4], LifecycleType(r[5]), r[6]) for r in rows]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.events.c.status, sa.func.count()).group_by(self.events.c.status))
            return {status: count for status, count in rows}

    # -- writes ---------------------------------------------------------------------------
    def enqueue(
        self,
        deliveries: Sequence[tuple[LifecycleEvent, str]],
        *,
        unaddressed: Sequence[LifecycleEvent] = (),
        cursor: Cursor | None,
        snapshot: tuple[int, Iterable[Mapping[str, Any]]] | None,
    ) -> None:
        """Queue (event, user_id) pairs, keep `unaddressed` events for later, and move the cursor and
        snapshot, all or nothing."""
        now = _now()
        held = [(event, NO_USER) for event in unaddressed]
        rows = [
            {
                "key": event.key,
                "user_id": user_id,
                "type": event.type.value,
                "name": event.name,
                "customer_id": event.customer_id,
                "subscription_id": event.subscription_id,
                "stripe_event_id": event.stripe_event_id,
                "created_at": int(event.occurred_at.timestamp()),
                "metadata": dict(event.metadata),
                "status": UNADDRESSED if user_id == NO_USER else PENDING,
                "attempts": 0,
                "queued_at": now,
            }
            for event, user_id in [*deliveries, *held]
        ]
        with self.engine.begin() as conn:
            if rows:
                conn.execute(sa.insert(self.events), rows)
            if cursor is not None:
                self._set_cursor(conn, EVENTS_CURSOR, cursor, now)
            if snapshot is not None:
                self._write_snapshot(conn, *snapshot)
                self._set_cursor(conn, SNAPSHOT_TIME, Cursor(None, snapshot[0]), now)

    def _set_cursor(self, conn: sa.Connection, name: str, cursor: Cursor, now: datetime) -> None:
        conn.execute(sa.delete(self.cursor_table).where(self.cursor_table.c.name == name))
        conn.execute(
            sa.insert(self.cursor_table),
            {"name": name, "event_id": cursor.event_id, "created": cursor.created, "updated_at": now},
        )

    def _write_snapshot(self, conn: sa.Connection, taken_at: int, payloads: Iterable[Mapping[str, Any]]) -> None:
        """Make the stored snapshot today's: rows whose payload digest changed (or that have none
        yet) are rewritten, rows of subscriptions gone are removed, the others are left alone."""
        snap, digests = self.snapshot_table, self.digest_table
        joined = snap.outerjoin(digests, snap.c.subscription_id == digests.c.subscription_id)
        stored = dict(conn.execute(sa.select(snap.c.subscription_id, digests.c.digest).select_from(joined)).all())
        # The SDK reads decimal strings as Decimal; store them as the API sends them.
        texts = {p["id"]: json.dumps(p, default=str) for p in payloads}
        today = {sub_id: _digest(text) for sub_id, text in texts.items()}
        changed = [sub_id for sub_id, digest in today.items() if stored.get(sub_id) != digest]
        stale = [*changed, *(set(stored) - set(today))]
        for table in (snap, digests):
            for batch in batched(stale):
                conn.execute(sa.delete(table).where(table.c.subscription_id.in_(batch)))
        for chunk in batched(changed):
            rows = [{"subscription_id": i, "taken_at": taken_at, "payload": json.loads(texts[i])} for i in chunk]
            conn.execute(sa.insert(snap), rows)
            conn.execute(sa.insert(digests), [{"subscription_id": i, "digest": today[i]} for i in chunk])

    def readdress(self, members: Mapping[str, Sequence[str]]) -> int:
        """Queue kept events whose customer now reaches users; returns how many deliveries that made."""
        t = self.events.c
        with self.engine.begin() as conn:
            held = conn.execute(sa.select(self.events).where(t.status == UNADDRESSED)).mappings().all()
            rows = [
                {**row, "user_id": user_id, "status": PENDING, "queued_at": _now()}
                for row in held
                for user_id in members.get(row["customer_id"]) or []
            ]
            if rows:
                reached = {row["key"] for row in rows}
                conn.execute(sa.insert(self.events), rows)
                conn.execute(sa.delete(self.events).where(t.status == UNADDRESSED, t.key.in_(reached)))
        return len(rows)

    def _update(self, item: Outgoing, **values: Any) -> None:
        t = self.events.c
        with self.engine.begin() as conn:
            conn.execute(sa.update(self.events).where(t.key == item.key, t.user_id == item.user_id).values(**values))

    def mark_sent(self, item: Outgoing) -> None:
        self._update(item, status=SENT, attempts=item.attempts + 1, sent_at=_now(), error=None)

    def mark_failed(self, item: Outgoing, error: str) -> None:
        self._update(item, status=FAILED, attempts=item.attempts + 1, error=error[:2000])
