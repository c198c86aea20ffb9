"""Write a demo world into a warehouse, with the default table names.

Idempotent by replacement: the three tables are dropped and recreated, then filled chunk by chunk,
so the same seed and size always leave the same rows. PostgreSQL is loaded with COPY through
psycopg (several times faster than batched INSERTs); other databases with SQLAlchemy Core
executemany. The usage index is built after the load, which is cheaper than maintaining it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from resources.emulators.demo_world.world import DemoWorld
from resources.warehouse import WarehouseResource, create_warehouse_engine


@dataclass(frozen=True)
class WriteSummary:
    accounts: int
    users: int
    usage_events: int


def write_warehouse(world: DemoWorld, url: str) -> WriteSummary:
    engine = create_warehouse_engine(url)
    tables = WarehouseResource(url=url).tables()
    users = event_rows = 0
    try:
        with engine.begin() as conn:
            tables.metadata.drop_all(conn)
            tables.metadata.create_all(conn)
            _write(conn, tables.accounts, world.accounts[["account_id", "name", "created_at"]])
            for chunk in world.chunks():
                _write(conn, tables.users, chunk.users)
                _write(conn, tables.usage_events, chunk.events)
                users, event_rows = users + len(chunk.users), event_rows + len(chunk.events)
            # Declared only now: an index on the table before create_all would be built before the load.
            events = tables.usage_events.c
            sa.Index("ix_usage_events_user_id_occurred_at", events.user_id, events.occurred_at).create(conn)
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return WriteSummary(accounts=len(world.accounts), users=users, usage_events=event_rows)


def _write(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """`frame` has the table's canonical columns; its timestamps are naive UTC datetime64."""
    if frame.empty:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy(conn, table, frame)
        return
    columns = [c.key for c in table.c]
    values = [frame[c].dt.tz_localize("UTC").dt.to_pydatetime() if c in _TIMESTAMPS else frame[c] for c in columns]
    batch = 50_000
    rows = [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
    for start in range(0, len(rows), batch):
        conn.execute(sa.insert(table), rows[start : start + batch])


_TIMESTAMPS = frozenset({"created_at", "occurred_at"})


def _copy(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.quote(c.name) for c in table.c)
    text = io.StringIO()
    out = frame[[c.key for c in table.c]].copy()
    for column in _TIMESTAMPS & set(out.columns):
        out[column] = np.datetime_as_string(out[column].to_numpy(), unit="s") + "Z"
    # The generated values never contain tabs, newlines or backslashes, so plain TSV is valid COPY text.
    out.to_csv(text, sep="\t", header=False, index=False)
    cursor = conn.connection.dbapi_connection.cursor()
    with cursor.copy(f"COPY {preparer.format_table(table)} ({names}) FROM STDIN") as copy:
        copy.write(text.getvalue())
