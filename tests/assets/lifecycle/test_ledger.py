"""The event ledger's snapshot and fact reads on SQLite and PostgreSQL: a run rewrites only the
snapshot rows that changed, and reads only the facts it asks about."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from assets.lifecycle.ledger import Cursor, EventLedger
from assets.lifecycle.model import LifecycleEvent, LifecycleType, utc
from resources.state import StateStore


@pytest.fixture
def ledger(warehouse_url):
    store = StateStore(warehouse_url)
    yield EventLedger(store)
    store.dispose()


def sub(sub_id: str, quantity: int = 1) -> dict[str, Any]:
    return {"id": sub_id, "status": "active", "items": {"data": [{"id": f"si_{sub_id}", "quantity": quantity}]}}


def written_at(ledger: EventLedger) -> dict[str, int]:
    """Subscription id -> when its snapshot row was last written."""
    t = ledger.snapshot_table.c
    with ledger.engine.connect() as conn:
        return dict(conn.execute(sa.select(t.subscription_id, t.taken_at)).all())


def stored(ledger: EventLedger) -> tuple[int, list[dict[str, Any]]] | None:
    snapshot = ledger.snapshot()
    return None if snapshot is None else (snapshot[0], sorted(snapshot[1], key=lambda p: p["id"]))


def test_a_run_rewrites_only_the_subscriptions_that_changed(ledger) -> None:
    assert ledger.snapshot() is None
    ledger.enqueue([], cursor=None, snapshot=(100, [sub("a"), sub("b"), sub("c")]))
    ledger.enqueue([], cursor=None, snapshot=(200, [sub("a"), sub("b", quantity=2), sub("d")]))
    assert stored(ledger) == (200, [sub("a"), sub("b", quantity=2), sub("d")])
    assert written_at(ledger) == {"a": 100, "b": 200, "d": 200}  # c is gone, a was left alone

    ledger.enqueue([], cursor=Cursor("evt_1", 250), snapshot=(300, []))
    assert ledger.snapshot() is None and ledger.cursor() == Cursor("evt_1", 250)


def test_decimals_are_stored_as_the_api_sends_them_and_read_as_unchanged(ledger) -> None:
    priced = {**sub("a"), "unit_amount_decimal": Decimal("12.5")}
    ledger.enqueue([], cursor=None, snapshot=(100, [priced]))
    ledger.enqueue([], cursor=None, snapshot=(200, [priced]))
    assert stored(ledger) == (200, [{**sub("a"), "unit_amount_decimal": "12.5"}])
    assert written_at(ledger) == {"a": 100}


def test_a_snapshot_stored_before_digests_is_read_then_rewritten_once(ledger) -> None:
    """Rows of an older version carry the snapshot time and have no digest."""
    with ledger.engine.begin() as conn:
        conn.execute(sa.insert(ledger.snapshot_table), [{"subscription_id": "a", "taken_at": 50, "payload": sub("a")}])
    assert stored(ledger) == (50, [sub("a")])
    ledger.enqueue([], cursor=None, snapshot=(60, [sub("a")]))
    ledger.enqueue([], cursor=None, snapshot=(70, [sub("a")]))
    assert stored(ledger) == (70, [sub("a")]) and written_at(ledger) == {"a": 60}


def refund(key: str, customer: str, at: int) -> LifecycleEvent:
    return LifecycleEvent(
        key=key,
        type=LifecycleType.REFUND,
        name="refunded-charge",
        customer_id=customer,
        subscription_id=None,
        occurred_at=utc(at),
        metadata={"price": {"amount": 100, "currency": "usd"}, "reason": "unknown", "charge_id": "ch_1"},
        reason="unknown",
        stripe_event_id="evt_1",
        livemode=True,
    )


def test_facts_are_read_by_key_and_since_a_time(ledger) -> None:
    old, new, held = (
        refund("refund:1", "cus_1", 100),
        refund("refund:2", "cus_1", 200),
        refund("refund:3", "cus_2", 300),
    )
    ledger.enqueue([(old, "user_1"), (old, "user_2"), (new, "user_1")], unaddressed=[held], cursor=None, snapshot=None)
    assert [(f.key, f.occurred_at) for f in ledger.facts(["refund:1", "refund:9"])] == [("refund:1", utc(100))]
    assert ledger.facts([]) == []
    recent = ledger.facts(["refund:1"], since=utc(200))
    assert sorted(f.key for f in recent) == ["refund:1", "refund:2", "refund:3"]
    assert ledger.unaddressed_customers() == {"cus_2"}
