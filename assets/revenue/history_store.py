"""Daily MRR history and movements, kept in the state store beside the push state.

One row per (day, customer). A day is always rewritten whole (delete, then insert, in one
transaction), so re-running or backfilling a partition never duplicates rows.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from resources.state.store import StateStore

DAILY_COLUMNS = ["day", "customer_id", "account_id", "mrr_currency", "mrr_minor", "reporting_mrr_minor"]
MOVEMENT_COLUMNS = ["day", "customer_id", "account_id", "mrr_before", "mrr_after", "mrr_delta", "movement"]
# Column specs: resources/state/columns.py.
_TABLES = """
mrr_daily      day date key, customer_id str255 key, account_id str255 null index, mrr_currency str3 null,
               mrr_minor bigint null, reporting_mrr_minor bigint null
mrr_movements  day date key, customer_id str255 key, account_id str255 null, mrr_before bigint,
               mrr_after bigint, mrr_delta bigint, movement str16
"""


class MrrHistory:
    """The `mrr_daily` and `mrr_movements` tables of one state store."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.daily, self.movements = store.ensure_tables(_TABLES)

    def replace_day(self, day: date, rows: pd.DataFrame) -> None:
        self._replace(self.daily, day, rows.assign(day=day)[DAILY_COLUMNS])

    def replace_movements(self, day: date, rows: pd.DataFrame) -> None:
        self._replace(self.movements, day, rows.assign(day=day)[MOVEMENT_COLUMNS])

    def _replace(self, table: sa.Table, day: date, rows: pd.DataFrame) -> None:
        records = [
            {str(k): (None if pd.isna(v) else v) for k, v in record.items()} for record in rows.to_dict("records")
        ]
        with self.store.engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.day == day))
            if records:
                conn.execute(sa.insert(table), records)

    def days(self, first: date, last: date) -> pd.DataFrame:
        """Daily rows with `first <= day <= last`."""
        return self._read(sa.select(self.daily).where(self.daily.c.day.between(first, last)), DAILY_COLUMNS)

    def movements_between(self, first: date, last: date) -> pd.DataFrame:
        table = self.movements
        return self._read(sa.select(table).where(table.c.day.between(first, last)), MOVEMENT_COLUMNS)

    def paid_before(self, day: date) -> set[str]:
        """Customers with MRR above zero on any day before `day` (new vs reactivation)."""
        query = (
            sa.select(self.daily.c.customer_id)
            # In its own currency: a missing exchange rate must not make a payer look new.
            .where(self.daily.c.day < day, self.daily.c.mrr_minor > 0)
            .distinct()
        )
        with self.store.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def recorded_days(self) -> tuple[date, date] | None:
        """The first and last day with history, if any."""
        with self.store.engine.connect() as conn:
            first, last = conn.execute(sa.select(sa.func.min(self.daily.c.day), sa.func.max(self.daily.c.day))).one()
        return None if first is None else (first, last)

    def _read(self, query: sa.Select, columns: list[str]) -> pd.DataFrame:
        with self.store.engine.connect() as conn:
            frame = pd.DataFrame.from_records(conn.execute(query).all(), columns=columns)
        frame["day"] = pd.to_datetime(frame["day"])
        return frame
