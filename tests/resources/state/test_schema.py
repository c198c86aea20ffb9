"""The state store's tables keep their exact schema: column order, types, nullability, keys and
indexes, as `CREATE TABLE` on SQLite and PostgreSQL. A new database gets the same tables as ever and
an existing one is read by the same column names (`schema.json` was written from the long-hand
`sa.Column` definitions before they became column specs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from assets.ingest.stripe_store import StripeSnapshotStore
from assets.lifecycle.ledger import EventLedger
from assets.plays.history import MembershipHistory
from assets.revenue.history_store import MrrHistory
from resources.state.columns import columns
from resources.state.store import StateStore

SCHEMA = Path(__file__).with_name("schema.json")


def schema_ddl() -> dict[str, dict[str, list[str]]]:
    """Per dialect and table: its `CREATE TABLE` then its `CREATE INDEX`es, one line each."""
    store = StateStore("sqlite://")
    for owner in (EventLedger, StripeSnapshotStore, MembershipHistory, MrrHistory):
        owner(store)
    return {
        dialect.name: {
            table.name: [
                " ".join(str(ddl.compile(dialect=dialect)).split())
                for ddl in (
                    CreateTable(table),
                    *(CreateIndex(i) for i in sorted(table.indexes, key=lambda i: str(i.name))),
                )
            ]
            for table in sorted(store.metadata.tables.values(), key=lambda t: t.name)
        }
        for dialect in (sqlite.dialect(), postgresql.dialect())
    }


def test_the_state_tables_keep_their_schema() -> None:
    assert schema_ddl() == json.loads(SCHEMA.read_text())


def test_every_state_table_is_created() -> None:
    store = StateStore("sqlite://")
    for owner in (EventLedger, StripeSnapshotStore, MembershipHistory, MrrHistory):
        owner(store)
    store.create_all()
    assert set(sa.inspect(store.engine).get_table_names()) == set(store.metadata.tables)


def test_a_column_spec_names_what_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="unknown column type 'string'"):
        columns("name string")
    with pytest.raises(ValueError, match="unknown flag"):
        columns("name str32 primary")
    assert [c.name for c in columns("a int key, b text null", "c time")] == ["a", "b", "c"]
