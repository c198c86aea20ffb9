"""Helpers that turn frames and per-record problems into Dagster UI metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

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
