"""The product warehouse: accounts, users and usage events behind any SQLAlchemy URL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import ConfigDict, Field, PrivateAttr

from resources.setting_checks import database_url
from resources.usage_query import UsageQuery, unparseable_usage_query, usage_columns
from resources.warehouse_schema import TIMESTAMP_COLUMNS, WarehouseTables, define_tables

DEFAULT_WAREHOUSE_URL = "sqlite:///data/warehouse.db"


class AccountsTable(dg.Config):
    """Where accounts (Intercom companies) live."""

    table: str = "accounts"
    account_id: str = "account_id"
    name: str = "name"
    created_at: str = "created_at"


class UsersTable(dg.Config):
    """Where users (Intercom contacts) live."""

    table: str = "users"
    user_id: str = "user_id"
    account_id: str = "account_id"
    email: str = "email"
    name: str = "name"
    created_at: str = "created_at"


class UsageEventsTable(dg.Config):
    """One row per product usage event."""

    table: str = "usage_events"
    user_id: str = "user_id"
    event_name: str = "event_name"
    occurred_at: str = "occurred_at"


class WarehouseResource(dg.ConfigurableResource):
    """Reads the warehouse; usage is aggregated in the database, never in pandas."""

    model_config = ConfigDict(hide_input_in_errors=True)  # a bad value may be (or hold) a secret

    url: str = Field(
        default=DEFAULT_WAREHOUSE_URL,
        repr=False,  # may hold a password
        description="SQLAlchemy URL. A relative SQLite path is resolved against the working directory.",
    )
    db_schema: str | None = Field(default=None, description="Database schema holding the tables (None: default).")
    accounts: AccountsTable = Field(default_factory=AccountsTable)
    users: UsersTable = Field(default_factory=UsersTable)
    usage_events: UsageEventsTable = Field(default_factory=UsageEventsTable)
    fx_rates_table: str | None = Field(
        default=None,
        description="Optional table of exchange rates (columns `currency`, `rate`: reporting-currency units per unit).",
    )

    _engine: sa.Engine | None = PrivateAttr(default=None)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def tables(self) -> WarehouseTables:
        return define_tables(
            accounts=self.accounts.model_dump(),
            users=self.users.model_dump(),
            usage_events=self.usage_events.model_dump(),
            db_schema=self.db_schema,
        )

    def get_engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = create_warehouse_engine(self.url)
        return self._engine

    def read_accounts(self) -> pd.DataFrame:
        """Columns: account_id, name, created_at as stored (assets/ingest/validation.py checks the rows)."""
        return self._raw_rows(self.tables().accounts)

    def read_users(self) -> pd.DataFrame:
        """Columns: user_id, account_id, email, name, created_at as stored (validated at ingest)."""
        return self._raw_rows(self.tables().users)

    def unparseable_usage(self, limit: int = 1000) -> pd.DataFrame:
        """Usage events whose occurred_at is not a timestamp: user_id, event_name, occurred_at (the first `limit`)."""
        return self._frame(unparseable_usage_query(self.tables(), limit), ["user_id", "event_name", "occurred_at"])

    def _raw_rows(self, table: sa.Table) -> pd.DataFrame:
        # Timestamps come back as the driver gives them (text on SQLite): one bad value must not fail the read.
        columns = [sa.type_coerce(c, sa.Text).label(c.key) if c.key in TIMESTAMP_COLUMNS else c for c in table.c]
        with self.get_engine().connect() as conn:
            rows = conn.execute(sa.select(*columns).order_by(table.c[0])).all()
        return pd.DataFrame.from_records(rows, columns=[c.key for c in table.c])

    def usage_aggregates(self, metrics: Mapping[str, str], as_of: datetime) -> pd.DataFrame:
        """One row per user: user_id, `<attr>` and `<attr>_30d` per metric (int, 0 when none), last_active_at."""
        frame = self._frame(
            UsageQuery(self.tables(), metrics, as_of).aggregate(),
            ["user_id", *usage_columns(metrics), "last_active_at"],
        )
        return frame.astype(dict.fromkeys(usage_columns(metrics), "int64"))

    def read_fx_rates(self) -> pd.DataFrame:
        """Columns currency, rate, as stored in `fx_rates_table` (empty when none is configured)."""
        if not self.fx_rates_table:
            return pd.DataFrame(columns=["currency", "rate"])
        table = sa.table(self.fx_rates_table, sa.column("currency"), sa.column("rate"), schema=self.db_schema)
        return self._frame(sa.select(table.c.currency, table.c.rate), ["currency", "rate"])

    def _frame(self, query: sa.Select, columns: list[str]) -> pd.DataFrame:
        with self.get_engine().connect() as conn:
            frame = pd.DataFrame.from_records(conn.execute(query).all(), columns=columns)
        if "last_active_at" in frame:
            frame["last_active_at"] = pd.to_datetime(frame["last_active_at"], utc=True)
        return frame


def create_warehouse_engine(url: str) -> sa.Engine:
    """An engine with pre-ping; SQLite files get their directory, PostgreSQL sessions run in UTC."""
    parsed = sa.make_url(
        database_url("REVSYNC_WAREHOUSE_URL", url)
    )  # never echo a malformed URL: it may hold a password
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    engine = sa.create_engine(parsed, pool_pre_ping=True)
    if engine.dialect.name == "postgresql":
        # `timestamp without time zone` columns hold UTC by contract; make the session agree.
        sa.event.listen(engine, "connect", _set_utc_session)
    return engine


def _set_utc_session(dbapi_connection: Any, connection_record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()
