"""Segment membership history in the state store: one row per stint, one size record per segment and day.

Tables (with the store's prefix): `play_stints` (segment, key, entered_on, group, exited_on,
converted_on, exit_reason) and `play_daily` (segment, day, members, treatment, control, entered,
exited, converted). A day's change is written in one transaction, and the daily record is counted
from the stints, so a re-run the same day changes nothing and a crash leaves no half-written day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from assets.plays.membership import CONTROL, STINT_COLUMNS, TREATMENT, SegmentChange, empty_stints
from resources.state.columns import same_type
from resources.state.store import StateStore

_RESULT_COUNTS = [
    "lookback_days",
    "members",
    "treatment_n",
    "treatment_conversions",
    "control_n",
    "control_conversions",
]
_RESULT_FIGURES = ["treatment_rate", "control_rate", "lift_pct_points", "relative_lift", "ci95_low", "ci95_high",
                   "p_value", "incremental_mrr_per_member"]  # fmt: skip
DAILY_COLUMNS = ["segment", "day", "members", "treatment", "control", "entered", "exited", "converted"]
# Column specs: resources/state/columns.py.
_TABLES = f"""
play_stints   segment str64 key, key str255 key, entered_on date key, group str16, exited_on date null,
              converted_on date null, exit_reason str16 null
play_daily    segment str64 key, day date key, {same_type(DAILY_COLUMNS[2:], "int")}
play_results  segment str64 key, day date key, model str16, {same_type(_RESULT_COUNTS, "int")},
              {same_type(_RESULT_FIGURES, "float null")}, verdict text
"""


class MembershipHistory:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.stints, self.daily, self.results = store.ensure_tables(_TABLES)

    def load_stints(self, segments: Sequence[str]) -> pd.DataFrame:
        """Every stored stint of these segments (dates as datetime64)."""
        query = sa.select(*(self.stints.c[c] for c in STINT_COLUMNS)).where(self.stints.c.segment.in_(list(segments)))
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return empty_stints()
        frame = pd.DataFrame.from_records(rows, columns=STINT_COLUMNS)
        for column in ("entered_on", "exited_on", "converted_on"):
            frame[column] = pd.to_datetime(frame[column])
        return frame

    def add_stints(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert stints that are not stored yet (by segment, key, entered_on); for seeding and imports."""
        if not rows:
            return
        existing = self.load_stints(sorted({r["segment"] for r in rows}))
        known = set(zip(existing["segment"], existing["key"], existing["entered_on"].dt.date, strict=True))
        new = [r for r in rows if (r["segment"], r["key"], r["entered_on"]) not in known]
        if new:
            with self.store.engine.begin() as conn:
                conn.execute(sa.insert(self.stints), new)

    def record(self, changes: Sequence[SegmentChange], today: date) -> None:
        """Write today's entries, exits and conversions, then each segment's size record, atomically."""
        t = self.stints
        with self.store.engine.begin() as conn:
            for change in changes:
                entered = [
                    {"segment": change.segment, "key": r.key, "entered_on": today, "group": r.group}
                    for r in change.entered.itertuples()
                ]
                if entered:
                    conn.execute(sa.insert(t), entered)
                exited = change.exited
                exits = [
                    {"s": change.segment, "k": key, "e": entered.date(), "reason": reason}
                    for key, entered, reason in zip(
                        exited["key"], pd.to_datetime(exited["entered_on"]), exited["exit_reason"], strict=True
                    )
                ]
                if exits:
                    conn.execute(
                        self._match(sa.update(t)).values(exited_on=today, exit_reason=sa.bindparam("reason")), exits
                    )
                converted = change.converted
                conversions = [
                    {"s": change.segment, "k": key, "e": entered.date()}
                    for key, entered in zip(converted["key"], pd.to_datetime(converted["entered_on"]), strict=True)
                ]
                if conversions:
                    conn.execute(self._match(sa.update(t)).values(converted_on=today), conversions)
            segments = [c.segment for c in changes]
            conn.execute(sa.delete(self.daily).where(self.daily.c.day == today, self.daily.c.segment.in_(segments)))
            sizes = [self._sizes(conn, segment, today) for segment in segments]
            if sizes:
                conn.execute(sa.insert(self.daily), sizes)

    def _match(self, update: sa.Update) -> sa.Update:
        """An update of one stint, by bound segment (s), key (k) and entry day (e): for executemany."""
        t = self.stints
        return update.where(
            t.c.segment == sa.bindparam("s"), t.c.key == sa.bindparam("k"), t.c.entered_on == sa.bindparam("e")
        )

    def _sizes(self, conn: sa.Connection, segment: str, today: date) -> dict[str, Any]:
        t = self.stints
        mine = t.c.segment == segment

        def count(*where: sa.ColumnElement[bool]) -> int:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t).where(mine, *where)).scalar_one())

        still_in = t.c.exited_on.is_(None)
        return {
            "segment": segment,
            "day": today,
            "members": count(still_in),
            "treatment": count(still_in, t.c.group == TREATMENT),
            "control": count(still_in, t.c.group == CONTROL),
            "entered": count(t.c.entered_on == today),
            "exited": count(t.c.exited_on == today),
            "converted": count(t.c.converted_on == today),
        }

    def daily_sizes(self, segment: str) -> pd.DataFrame:
        query = sa.select(self.daily).where(self.daily.c.segment == segment).order_by(self.daily.c.day)
        with self.store.engine.connect() as conn:
            return pd.DataFrame.from_records(conn.execute(query).all(), columns=DAILY_COLUMNS)

    def replace_results(self, day: date, results: pd.DataFrame) -> None:
        """Today's `play_results` rows replace any earlier ones of the same day."""
        rows = [{str(k): (None if pd.isna(v) else v) for k, v in r.items()} for r in results.to_dict("records")]
        with self.store.engine.begin() as conn:
            conn.execute(sa.delete(self.results).where(self.results.c.day == day))
            if rows:
                conn.execute(sa.insert(self.results), rows)
