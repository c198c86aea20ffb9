"""Write a demo world into a warehouse, with the default table names.

Idempotent by replacement: the three tables are dropped and recreated, then filled chunk by chunk,
so the same seed and size always leave the same rows. PostgreSQL is loaded with COPY through
psycopg (several times faster than batched INSERTs); other databases with SQLAlchemy Core
executemany. The usage index is built after the load, which is cheaper than maintaining it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from emulators.demo_world.world import DemoWorld
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
            write_frame(conn, tables.accounts, world.accounts[["account_id", "name", "created_at"]])
            for chunk in world.chunks():
                write_frame(conn, tables.users, chunk.users)
                write_frame(conn, tables.usage_events, chunk.events)
                users, event_rows = users + len(chunk.users), event_rows + len(chunk.events)
            # Declared only now: an index on the table before create_all would be built before the load.
            events = tables.usage_events.c
            sa.Index("ix_usage_events_user_id_occurred_at", events.user_id, events.occurred_at).create(conn)
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return WriteSummary(accounts=len(world.accounts), users=users, usage_events=event_rows)


def write_frame(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """`frame` has the table's canonical columns; its timestamps are naive UTC datetime64."""
    if frame.empty:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy(conn, table, frame)
    elif conn.dialect.name == "sqlite":
        _insert_sqlite(conn, table, frame)
    else:
        insert_core(conn, table, frame)


def _columns(table: sa.Table, frame: pd.DataFrame, timestamp_format: str) -> list[np.ndarray]:
    """The frame's values in table column order, timestamps as text in `timestamp_format`."""
    values = []
    for column in table.c:
        data = frame[column.key].to_numpy()
        if column.key in _TIMESTAMPS:
            text = np.datetime_as_string(data.astype("datetime64[us]"), unit="us")
            data = np.char.replace(text, "T", " ") if timestamp_format == "sqlite" else np.char.add(text, "Z")
        values.append(data.astype(object))
    return values


def _insert_sqlite(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Driver-level executemany of plain tuples: SQLAlchemy's per-row parameter processing would
    cost five times the insert itself. Timestamps are written in the text form SQLAlchemy uses."""
    statement = str(sa.insert(table).compile(dialect=conn.dialect))
    rows = list(zip(*_columns(table, frame, "sqlite"), strict=True))
    for start in range(0, len(rows), _BATCH):
        conn.exec_driver_sql(statement, rows[start : start + _BATCH])


def insert_core(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """The portable path for other databases: Core executemany in batches, typed parameters."""
    columns = [c.key for c in table.c]
    values = [frame[c].dt.tz_localize("UTC").dt.to_pydatetime() if c in _TIMESTAMPS else frame[c] for c in columns]
    rows = [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
    for start in range(0, len(rows), _BATCH):
        conn.execute(sa.insert(table), rows[start : start + _BATCH])


def _copy(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.quote(c.name) for c in table.c)
    # Generated values never hold tabs, newlines or backslashes, so joined lines are valid COPY text.
    lines = "\n".join(map("\t".join, zip(*_columns(table, frame, "iso"), strict=True)))
    cursor = conn.connection.dbapi_connection.cursor()
    with cursor.copy(f"COPY {preparer.format_table(table)} ({names}) FROM STDIN") as copy:
        copy.write(lines + "\n")


_TIMESTAMPS = frozenset({"created_at", "occurred_at"})
_BATCH = 50_000
