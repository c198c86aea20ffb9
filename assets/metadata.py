"""Helpers that turn frames and per-record problems into Dagster UI metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

from resources.state import StateStoreResource, SyncError

SAMPLE_ROWS = 10
MAX_ERROR_ROWS = 50


def preview(frame: pd.DataFrame, rows: int = SAMPLE_ROWS) -> dg.MetadataValue:
    """The first rows as a markdown table."""
    return dg.MetadataValue.md(frame.head(rows).to_markdown(index=False) if len(frame) else "_empty_")


def errors_table(errors: Sequence[Any]) -> dg.MetadataValue:
    """Per-record problems (anything with record/customer id, field and message) as a table."""
    records = [
        dg.TableRecord(
            {
                "record": str(getattr(e, "record", None) or getattr(e, "customer_id", "")),
                "field": str(e.field),
                "message": str(e.message),
            }
        )
        for e in errors[:MAX_ERROR_ROWS]
    ]
    schema = dg.TableSchema(
        columns=[dg.TableColumn("record"), dg.TableColumn("field"), dg.TableColumn("message")],
    )
    return dg.MetadataValue.table(records=records, schema=schema)


def record_problems(
    context: dg.AssetExecutionContext, state: StateStoreResource, model: str, problems: Sequence[Any]
) -> None:
    """Per-record problems go to `sync_errors` too, so a bad record is never silently dropped."""
    if not problems:
        return
    errors = [
        SyncError(
            model=model,
            record_key=str(getattr(p, "record", None) or getattr(p, "customer_id", "")),
            field=p.field,
            status=None,
            code="invalid_record",
            message=p.message,
            request_id=None,
        )
        for p in problems
    ]
    state.store.record_errors(context.run.run_id, errors)
    context.log.warning(
        f"{len(errors)} {model} record(s) could not be used; see sync_errors for run {context.run.run_id}"
    )
