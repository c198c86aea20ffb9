"""Helpers that turn frames and per-record problems into Dagster UI metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import dagster as dg
import pandas as pd

from resources.state import StateStoreResource, SyncError

SAMPLE_ROWS = 10
MAX_ERROR_ROWS = 50


def preview(frame: pd.DataFrame, rows: int = SAMPLE_ROWS) -> dg.MetadataValue:
    """The first rows as a markdown table."""
    return dg.MetadataValue.md(frame.head(rows).to_markdown(index=False) if len(frame) else "_empty_")


class RecordProblem(Protocol):
    """A per-record problem: revenue, matching and exchange-rate problems all have this shape."""

    @property
    def record(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def message(self) -> str: ...


def table(rows: Sequence[Mapping[str, Any]], columns: list[str]) -> dg.TableMetadataValue:
    """Rows as a UI table of text columns (None shows as empty)."""
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in columns])
    records = [dg.TableRecord({c: "" if row.get(c) is None else str(row[c]) for c in columns}) for row in rows]
    return dg.MetadataValue.table(records=records, schema=schema)


def errors_table(errors: Sequence[RecordProblem]) -> dg.TableMetadataValue:
    """Per-record problems as a table (the first MAX_ERROR_ROWS)."""
    rows = [{"record": e.record, "field": e.field, "message": e.message} for e in errors[:MAX_ERROR_ROWS]]
    return table(rows, ["record", "field", "message"])


def sync_errors_table(errors: Sequence[SyncError]) -> dg.TableMetadataValue:
    """Intercom's refusals as they land in `sync_errors` (the first MAX_ERROR_ROWS)."""
    rows = [vars(e) for e in errors[:MAX_ERROR_ROWS]]
    return table(rows, ["record_key", "field", "status", "code", "message", "request_id"])


def record_problems(
    context: dg.AssetExecutionContext, state: StateStoreResource, model: str, problems: Sequence[RecordProblem]
) -> None:
    """Per-record problems go to `sync_errors` too, so a bad record is never silently dropped."""
    if not problems:
        return
    errors = [
        SyncError(
            model=model,
            record_key=str(p.record),
            field=p.field,
            status=None,
            code=getattr(p, "code", "invalid_record"),  # row validation names its cause
            message=p.message,
            request_id=None,
        )
        for p in problems
    ]
    state.store.record_errors(context.run.run_id, errors)
    context.log.warning(
        f"{len(errors)} {model} record(s) could not be used; see sync_errors for run {context.run.run_id}"
    )
