"""The push state store: what revsync last confirmed in Intercom, failures and run summaries.

Plain SQLAlchemy, no Dagster: `resources/state/resource.py` wraps it as a resource.

SQLAlchemy Core tables, by default in the warehouse database, named with a configurable prefix
(`revsync_`). Works on SQLite and PostgreSQL (upserts use each dialect's `ON CONFLICT`).

Tables (prefix omitted):
- `contacts`: external_id → Intercom id, email, attached company_id, last confirmed values (JSON
  of non-empty values only; a missing key means "no value in Intercom"). A row whose Intercom id is
  NULL is a create that was attempted but never confirmed (see docs/push.md, crash safety).
- `companies`: company_id → Intercom id, last confirmed values.
- `sync_errors`: one row per failed record: key, model, field, status, code, message, request_id,
  run_id, time.
- `sync_runs`: per run and model: planned, done, failed, dry_run, started/finished. A push plans in
  chunks, so `planned` is written when the run finishes (0 while it runs, or if it died).

Other modules add their own tables with the same prefix through `define_table` (same metadata,
created by `create_all`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import SchemaItem

from resources.setting_checks import database_url
from resources.state.batches import batched
from resources.state.columns import columns as column_specs
from resources.state.columns import schema_tables

# Column specs: resources/state/columns.py.
_TABLES = """
contacts     external_id str255 key, intercom_id str64 null, email str320 null, company_id str255 null,
             values json, updated_at time
companies    company_id str255 key, intercom_id str64, values json, updated_at time
sync_errors  id int key serial, run_id str64 index, model str32, record_key str255, field str255 null,
             status int null, code str128, message text, request_id str128 null, occurred_at time
sync_runs    run_id str64 key, model str32 key, dry_run bool, planned int, done int null, failed int null,
             started_at time, finished_at time null
"""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ContactState:
    external_id: str
    intercom_id: str
    email: str | None
    company_id: str | None
    values: dict[str, Any]


@dataclass(frozen=True)
class CompanyState:
    company_id: str
    intercom_id: str
    values: dict[str, Any]


@dataclass(frozen=True)
class SyncError:
    model: str
    record_key: str
    field: str | None
    status: int | None
    code: str
    message: str
    request_id: str | None


class StateStore:
    def __init__(self, url: str, table_prefix: str = "revsync_", *, engine: sa.Engine | None = None) -> None:
        self.prefix = table_prefix
        self.engine = engine or sa.create_engine(database_url("REVSYNC_STATE_URL", url))  # never echoes a password
        self.metadata = sa.MetaData()
        self.contacts, self.companies, self.sync_errors, self.sync_runs = self.define_tables(_TABLES)

    # -- schema ---------------------------------------------------------------------------
    def table_name(self, suffix: str) -> str:
        return f"{self.prefix}{suffix}"

    def define_table(self, suffix: str, *columns: SchemaItem | str, **kwargs: Any) -> sa.Table:
        """A prefixed table on this store's metadata; `create_all` creates it. A string among
        `columns` is a column spec (resources/state/columns.py: `"key str255 key, payload json"`).

        Defining a table the store already has returns it: several assets of one run share a
        store, and each builds the module (history, ledger) that owns its tables.
        """
        existing = self.metadata.tables.get(self.table_name(suffix))
        if existing is not None:
            return existing
        items = [c for item in columns for c in (column_specs(item) if isinstance(item, str) else [item])]
        return sa.Table(self.table_name(suffix), self.metadata, *items, **kwargs)

    def define_tables(self, schema: str) -> list[sa.Table]:
        """The tables of a schema text (resources/state/columns.py), in order, by `define_table`."""
        return [self.define_table(name, spec) for name, spec in schema_tables(schema)]

    def ensure_tables(self, schema: str) -> list[sa.Table]:
        """The tables of a schema text, defined and created where missing: a domain's own tables."""
        tables = self.define_tables(schema)
        self.metadata.create_all(self.engine, tables=tables)
        return tables

    def create_all(self) -> None:
        self.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- reads ----------------------------------------------------------------------------
    def load_contacts(self, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Index external_id; columns intercom_id, email, company_id, values (dict). Every row, or
        only those of `keys` (a push's chunk)."""
        return self._load(self.contacts, "external_id", ["intercom_id", "email", "company_id", "values"], keys)

    def load_companies(self, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Index company_id; columns intercom_id, values (dict). Every row, or only those of `keys`."""
        return self._load(self.companies, "company_id", ["intercom_id", "values"], keys)

    def confirmed_contacts(self, external_ids: Iterable[str]) -> set[str]:
        """Those of `external_ids` whose contact Intercom has confirmed (an Intercom id is stored).
        Keyed and without the values column, so it costs the ids asked about, not every contact."""
        t = self.contacts.c
        confirmed = sa.select(t.external_id).where(t.intercom_id.is_not(None))
        return {row.external_id for row in self._keyed_rows(confirmed, t.external_id, set(external_ids))}

    def company_ids(self) -> dict[str, str]:
        """company_id → Intercom id of every company pushed (no values: what attaching contacts needs)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.companies.c.company_id, self.companies.c.intercom_id)).all()
        return {company_id: intercom_id for company_id, intercom_id in rows}

    def _load(self, table: sa.Table, key: str, columns: list[str], keys: Iterable[str] | None) -> pd.DataFrame:
        select = sa.select(table.c[key], *(table.c[c] for c in columns))
        if keys is None:
            with self.engine.connect() as conn:
                rows = list(conn.execute(select).all())
        else:
            rows = self._keyed_rows(select, table.c[key], keys)
        frame = pd.DataFrame(rows, columns=[key, *columns], dtype=object)
        return frame.set_index(key)

    def _keyed_rows(self, select: sa.Select[Any], key: sa.ColumnElement[Any], keys: Iterable[str]) -> list[Any]:
        """The rows of `select` whose `key` is one of `keys`, a bounded number of keys per query."""
        wanted = list(keys)
        with self.engine.connect() as conn:
            return [row for batch in batched(wanted) for row in conn.execute(select.where(key.in_(batch)))]

    def errors_for_run(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(self.sync_errors).where(self.sync_errors.c.run_id == run_id).order_by(self.sync_errors.c.id)
            )
            return [dict(row._mapping) for row in rows]

    # -- writes ---------------------------------------------------------------------------
    def confirmed_numbers(self, model: str, field_key: str) -> pd.Series:
        """The last confirmed value of one numeric field (e.g. `custom_attributes.x`) per record
        holding one, extracted by the database: a check needing one field never parses every
        record's values."""
        table, key = self._model_table(model)
        value = table.c["values"][field_key].as_float()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c[key], value).where(value.is_not(None))).all()
        return pd.Series([v for _, v in rows], index=[k for k, _ in rows], dtype=float)

    def count_true(self, model: str, field_keys: Sequence[str]) -> dict[str, int]:
        """How many records' last confirmed value of each boolean field is true, counted by the
        database in one pass over the model's rows (a missing value is not true)."""
        if not field_keys:
            return {}
        table, _ = self._model_table(model)
        counts = [
            sa.func.coalesce(sa.func.sum(sa.case((table.c["values"][k].as_boolean(), 1), else_=0)), 0)
            for k in field_keys
        ]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*counts)).one()
        return {k: int(n) for k, n in zip(field_keys, row, strict=True)}

    def _model_table(self, model: str) -> tuple[sa.Table, str]:
        return (self.contacts, "external_id") if model == "contact" else (self.companies, "company_id")

    def mark_pending_contacts(self, external_ids: Iterable[str]) -> None:
        """Remember creates about to be sent, so a crashed run's successor looks them up first."""
        now = _now()
        rows: list[dict[str, Any]] = [
            {
                "external_id": key,
                "intercom_id": None,
                "email": None,
                "company_id": None,
                "values": {},
                "updated_at": now,
            }
            for key in external_ids
        ]
        self._write(self.contacts, rows, ["external_id"], update=False)

    def save_contacts(self, states: Sequence[ContactState]) -> None:
        now = _now()
        rows = [
            {
                "external_id": s.external_id,
                "intercom_id": s.intercom_id,
                "email": s.email,
                "company_id": s.company_id,
                "values": s.values,
                "updated_at": now,
            }
            for s in states
        ]
        self._write(self.contacts, rows, ["external_id"])

    def save_companies(self, states: Sequence[CompanyState]) -> None:
        now = _now()
        rows = [
            {"company_id": s.company_id, "intercom_id": s.intercom_id, "values": s.values, "updated_at": now}
            for s in states
        ]
        self._write(self.companies, rows, ["company_id"])

    def record_errors(self, run_id: str, errors: Sequence[SyncError]) -> None:
        if not errors:
            return
        now = _now()
        rows = [
            {
                "run_id": run_id,
                "model": e.model,
                "record_key": e.record_key,
                "field": e.field,
                "status": e.status,
                "code": e.code,
                "message": e.message[:2000],
                "request_id": e.request_id,
                "occurred_at": now,
            }
            for e in errors
        ]
        with self.engine.begin() as conn:
            conn.execute(sa.insert(self.sync_errors), rows)

    def start_run(self, run_id: str, model: str, *, dry_run: bool) -> None:
        """A push begins; what it planned is known, and recorded, when it finishes."""
        row = {"run_id": run_id, "model": model, "dry_run": dry_run, "planned": 0, "started_at": _now()}
        self._write(self.sync_runs, [row], ["run_id", "model"])

    def finish_run(self, run_id: str, model: str, *, planned: int, done: int, failed: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(self.sync_runs)
                .where(self.sync_runs.c.run_id == run_id, self.sync_runs.c.model == model)
                .values(planned=planned, done=done, failed=failed, finished_at=_now())
            )

    def _write(self, table: sa.Table, rows: list[dict[str, Any]], keys: list[str], *, update: bool = True) -> None:
        if not rows:
            return
        dialects: dict[str, Callable[[sa.Table], postgresql.Insert | sqlite.Insert]] = {
            "postgresql": postgresql.insert,
            "sqlite": sqlite.insert,
        }
        insert = dialects.get(self.engine.dialect.name)
        if insert is None:
            raise NotImplementedError(f"state store supports {sorted(dialects)}, not {self.engine.dialect.name}")
        stmt = insert(table)
        if update:
            changed = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
            stmt = stmt.on_conflict_do_update(index_elements=keys, set_=changed)
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
        with self.engine.begin() as conn:
            for batch in batched(rows):
                conn.execute(stmt, batch)
