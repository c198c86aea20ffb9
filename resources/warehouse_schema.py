"""The warehouse tables as SQLAlchemy Core objects, and how their UTC timestamps compare.

Columns carry the canonical name as their `key` and the deployment's name as their SQL name, so
queries are written once against `table.c.<canonical>` and render whatever names are configured.
This module imports neither Dagster nor pandas: the resource, the usage query and the demo world
writer all build on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

# Canonical columns per table, in order; the first is the key column.
ACCOUNT_COLUMNS = ("account_id", "name", "created_at")
USER_COLUMNS = ("user_id", "account_id", "email", "name", "created_at")
USAGE_EVENT_COLUMNS = ("user_id", "event_name", "occurred_at")
TIMESTAMP_COLUMNS = frozenset({"created_at", "occurred_at"})


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is UTC and timezone-aware on the Python side, whatever the database stores.

    Binding a naive datetime is an error (its zone would be a guess). Results come back aware in
    UTC: SQLite and `timestamp without time zone` columns return naive values, read as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return to_utc(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # an expression over SQLite text, e.g. max(strftime(...))
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


class utc_sortable(FunctionElement[datetime]):
    """A timestamp expression that compares and sorts chronologically on every dialect.

    SQLite has no timestamp type, so values are text and compare as strings: `2024-05-01T10:00Z`
    and `2024-05-01 10:00:00.000000` would be ordered by their spelling. On SQLite this renders
    `strftime('%Y-%m-%d %H:%M:%f', x)`, which parses any ISO-8601 form (offsets are applied) and
    gives UTC text at millisecond precision; elsewhere it is the expression itself.
    """

    type = UtcDateTime()
    inherit_cache = True
    name = "utc_sortable"


@compiles(utc_sortable)
def _utc_sortable_default(element: utc_sortable, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(utc_sortable, "sqlite")
def _utc_sortable_sqlite(element: utc_sortable, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(element.clauses, **kw)})"


def utc_param(name: str, value: datetime) -> ColumnElement[datetime]:
    """A bound timestamp, normalised like the columns it is compared with."""
    return utc_sortable(sa.bindparam(name, to_utc(value), type_=UtcDateTime()))


@dataclass(frozen=True)
class WarehouseTables:
    accounts: sa.Table
    users: sa.Table
    usage_events: sa.Table
    metadata: sa.MetaData


def define_tables(
    *,
    accounts: Mapping[str, str],
    users: Mapping[str, str],
    usage_events: Mapping[str, str],
    db_schema: str | None = None,
) -> WarehouseTables:
    """Tables from naming maps: `table` → table name, and each canonical column → its SQL name."""
    metadata = sa.MetaData(schema=db_schema)
    return WarehouseTables(
        accounts=_table(metadata, accounts, ACCOUNT_COLUMNS),
        users=_table(metadata, users, USER_COLUMNS),
        usage_events=_table(metadata, usage_events, USAGE_EVENT_COLUMNS, keyed=False),
        metadata=metadata,
    )


def _table(metadata: sa.MetaData, names: Mapping[str, str], columns: tuple[str, ...], keyed: bool = True) -> sa.Table:
    return sa.Table(
        names["table"],
        metadata,
        *(
            sa.Column(
                names[key],
                UtcDateTime() if key in TIMESTAMP_COLUMNS else sa.Text(),
                key=key,
                primary_key=keyed and i == 0,
                nullable=key not in ("user_id", "account_id", "event_name", "occurred_at"),
            )
            for i, key in enumerate(columns)
        ),
    )
