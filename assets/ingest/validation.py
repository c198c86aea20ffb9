"""Row-level validation of what revsync reads: warehouse rows and Stripe objects. Pure: no Dagster.

Every bad row becomes one `RowProblem` naming the table (or Stripe object), the row's key, the
column and the raw value (truncated), and is left out; the rest of the run goes on. A key that
appears twice is ambiguous, so every row with it is reported and none is kept. The run fails only
when more than `max_error_rate` of a table's rows are bad (`check_error_rate`), with the counts
per cause. docs/operations.md "When data is bad" lists the rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from assets.ingest.stored_form import customer_id

RAW_CHARS = 60  # a raw value is shown up to this many characters: enough to recognise, never a dump
MAX_QUANTITY = 10_000_000  # seats/units on one subscription item beyond any real subscription

CAUSES = {
    "missing_key": "is missing",
    "duplicate_key": "appears more than once; none of these rows is synced",
    "unparseable_date": "is not an ISO-8601 timestamp",
    "future_date": "is in the future",
    "impossible_value": "is impossible",
    "deleted": "was deleted in Stripe",
}


def raw_excerpt(value: Any) -> str:
    """The raw value as shown in reports: its repr (NULL when empty), cut to RAW_CHARS characters."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return "NULL"
    text = repr(value.isoformat() if isinstance(value, datetime) else value)
    return text if len(text) <= RAW_CHARS else text[: RAW_CHARS - 1] + "…"


@dataclass(frozen=True)
class RowProblem:
    table: str  # warehouse table (canonical name) or Stripe object type
    record: str  # the row's key, or "row <n>" when the key itself is missing
    field: str
    code: str  # one of CAUSES
    raw: str  # raw_excerpt of the value
    detail: str = ""

    @property
    def message(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.table} {self.record}: {self.field} {CAUSES[self.code]}{detail}; raw value {self.raw}"


def check_keys(frame: pd.DataFrame, table: str, key: str) -> tuple[pd.Series, list[RowProblem]]:
    """Rows whose key is present and unique (a boolean mask), and a problem for every other row."""
    keys = frame[key].astype("string").str.strip()
    missing = keys.isna() | (keys == "")
    duplicated = keys.duplicated(keep=False) & ~missing
    problems = [
        RowProblem(table, f"row {position + 1}", key, "missing_key", raw_excerpt(frame[key].iloc[position]))
        for position in map(int, missing.to_numpy().nonzero()[0])
    ]
    counts = keys[duplicated].value_counts()
    problems += [
        RowProblem(table, str(k), key, "duplicate_key", raw_excerpt(k), f"{counts[k]} rows")
        for k in keys[duplicated].tolist()
    ]
    return ~(missing | duplicated), problems


def parse_timestamp(value: Any) -> datetime | None:
    """A UTC datetime from a driver value (datetime or ISO-8601 text); None for empty; ValueError otherwise."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip())  # strict ISO: '03/15/2024' is refused, not guessed
    else:
        raise ValueError(f"not a timestamp: {type(value).__name__}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def check_timestamps(
    frame: pd.DataFrame, table: str, key: str, column: str, now: datetime
) -> tuple[pd.Series, pd.Series, list[RowProblem]]:
    """(parsed UTC column, mask of good rows, problems): unparseable and future values are bad rows."""
    parsed: list[datetime | None] = []
    good: list[bool] = []
    problems: list[RowProblem] = []
    for record, value in zip(frame[key].tolist(), frame[column].tolist(), strict=True):
        try:
            when = parse_timestamp(value)
        except (ValueError, TypeError):
            problems.append(RowProblem(table, str(record), column, "unparseable_date", raw_excerpt(value)))
            parsed.append(None)
            good.append(False)
            continue
        future = when is not None and when > now
        if future:
            problems.append(
                RowProblem(table, str(record), column, "future_date", raw_excerpt(value), f"now is {now.isoformat()}")
            )
        parsed.append(when)
        good.append(not future)
    column_values = pd.to_datetime(pd.Series(parsed, index=frame.index, dtype=object), utc=True)
    return column_values, pd.Series(good, index=frame.index), problems


def validate_rows(
    frame: pd.DataFrame, table: str, key: str, timestamp_columns: Sequence[str], now: datetime
) -> tuple[pd.DataFrame, list[RowProblem]]:
    """The good rows (timestamps parsed to UTC) and a problem for each bad one."""
    keep, problems = check_keys(frame, table, key)
    rows = frame[keep].reset_index(drop=True)
    for column in timestamp_columns:
        rows[column], good, found = check_timestamps(rows, table, key, column, now)
        problems += found
        rows = rows[good].reset_index(drop=True)
    return rows, problems


def check_quantity(table: str, record: str, field: str, value: Any) -> RowProblem | None:
    """A subscription item's quantity must be a whole number from 0 to MAX_QUANTITY."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_QUANTITY:
        return RowProblem(
            table, record, field, "impossible_value", raw_excerpt(value), f"allowed 0 to {MAX_QUANTITY:,}"
        )
    return None


class TooManyBadRows(Exception):
    """More than `max_error_rate` of a table's rows are bad."""

    def __init__(self, table: str, problems: Sequence[RowProblem], total: int, bad: int, max_error_rate: float) -> None:
        causes = dict(Counter(p.code for p in problems).most_common())
        super().__init__(
            f"{table}: {bad} of {total} rows are bad ({bad / total:.1%} > {max_error_rate:.1%}); "
            f"by cause {causes}; each is in sync_errors"
        )
        self.causes = causes


def check_error_rate(table: str, problems: Sequence[RowProblem], total: int, kept: int, max_error_rate: float) -> None:
    """Raise TooManyBadRows when more than `max_error_rate` of `total` rows were left out."""
    bad = total - kept
    if total and bad / total > max_error_rate:
        raise TooManyBadRows(table, problems, total, bad, max_error_rate)


def check_customer(customer: dict[str, Any]) -> RowProblem | None:
    """A deleted Stripe customer is reported as deleted (it has no email or metadata left to match)."""
    if customer.get("deleted"):
        return RowProblem("customer", str(customer.get("id")), "deleted", "deleted", raw_excerpt(True))
    return None


def check_subscription(subscription: dict[str, Any], deleted_customers: Collection[str] = ()) -> list[RowProblem]:
    """A subscription of a deleted customer, or with an impossible item quantity, is not priced.

    The customer is an id, or an expanded object; `deleted_customers` are the ids Stripe deleted.
    """
    record = str(subscription.get("id"))
    problems = []
    customer, named = subscription.get("customer"), customer_id(subscription)
    if (isinstance(customer, dict) and customer.get("deleted")) or named in deleted_customers:
        problems.append(RowProblem("subscription", record, "customer", "deleted", raw_excerpt(named)))
    for i, item in enumerate((subscription.get("items") or {}).get("data") or []):
        problem = check_quantity("subscription", record, f"items.data[{i}].quantity", item.get("quantity"))
        if problem is not None:
            problems.append(problem)
    return problems
