"""The usage aggregate query: one `GROUP BY` over usage events, built with SQLAlchemy Core.

Per user it counts each metric's events over the user's lifetime and over the trailing window
(default 30 days), and takes the last event time. Counting uses conditional aggregation
(`count(CASE WHEN ... THEN 1 END)`), so one scan of the events answers every metric; raw events
never leave the database. Every user in `users` gets a row, with zeros when they have no events.

Time bounds, both inclusive: lifetime = occurred_at <= as_of; window = as_of - window <= occurred_at
<= as_of. Events after `as_of` are ignored, so a backfill for a past day sees that day's numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from resources.warehouse_schema import WarehouseTables, utc_param, utc_sortable

# Usage attribute name -> warehouse event name (README's attribute table lists what each yields).
DEFAULT_USAGE_METRICS: dict[str, str] = {
    "reports_created": "report_created",
    "projects_created": "project_created",
    "users_invited": "teammate_invited",
}
WINDOW_SUFFIX = "_30d"
RESERVED_COLUMNS = frozenset({"user_id", "last_active_at"})
# Inline constants keep the printed SQL readable (`THEN 1`, not a bound parameter).
_ONE = sa.literal_column("1", sa.Integer)
_ZERO = sa.literal_column("0", sa.Integer)


def usage_columns(metrics: Mapping[str, str]) -> list[str]:
    """The count columns the query returns, in order: `<attr>`, `<attr>_30d` per metric."""
    return [name for attr in metrics for name in (attr, f"{attr}{WINDOW_SUFFIX}")]


@dataclass(frozen=True)
class UsageQuery:
    """The usage counts of `metrics` (attribute -> event name) as of `as_of`, over the users' lifetime
    and the trailing `window`, from `tables`."""

    tables: WarehouseTables
    metrics: Mapping[str, str]
    as_of: datetime
    window: timedelta = timedelta(days=30)

    def per_user_counts(self) -> sa.Select:
        """The bare `GROUP BY` over events: one row per user *with* events (`bench/usage.py` times it)."""
        _check_metrics(self.metrics)
        events = self.tables.usage_events
        occurred = utc_sortable(events.c.occurred_at)
        upper = utc_param("as_of", self.as_of)
        lower = utc_param("window_start", self.as_of - self.window)

        counts: list[sa.ColumnElement[int]] = []
        for i, (attr, event_name) in enumerate(self.metrics.items()):
            is_event = events.c.event_name == sa.bindparam(f"event_{i}", event_name)
            counts.append(sa.func.count(sa.case((is_event, _ONE))).label(attr))
            in_window = is_event & (occurred >= lower)
            counts.append(sa.func.count(sa.case((in_window, _ONE))).label(f"{attr}{WINDOW_SUFFIX}"))
        return (
            sa.select(events.c.user_id, *counts, sa.func.max(occurred).label("last_active_at"))
            .where(occurred <= upper)
            .group_by(events.c.user_id)
        )

    def aggregate(self) -> sa.Select:
        """Every user: user_id, then `<attr>` and `<attr>_30d` per metric (ints), then last_active_at."""
        per_user = self.per_user_counts().subquery("per_user")
        users = self.tables.users
        return (
            sa.select(
                users.c.user_id.label("user_id"),
                *(sa.func.coalesce(per_user.c[name], _ZERO).label(name) for name in usage_columns(self.metrics)),
                sa.type_coerce(per_user.c.last_active_at, utc_sortable.type).label("last_active_at"),
            )
            .select_from(users.outerjoin(per_user, per_user.c.user_id == users.c.user_id))
            .order_by(users.c.user_id)
        )


def _check_metrics(metrics: Mapping[str, str]) -> None:
    if not metrics:
        raise ValueError("at least one usage metric is needed")
    columns = usage_columns(metrics)
    clashes = (set(columns) & RESERVED_COLUMNS) | {c for c in columns if columns.count(c) > 1}
    if clashes:
        raise ValueError(f"usage metric names clash with other columns: {sorted(clashes)}")


def unparseable_usage_query(tables: WarehouseTables, limit: int) -> sa.Select:
    """Usage events whose `occurred_at` is not a timestamp (text the aggregate could not count).

    Columns: user_id, event_name, occurred_at as stored. Typed timestamp columns never match.
    """
    events = tables.usage_events
    return (
        sa.select(
            events.c.user_id,
            events.c.event_name,
            sa.type_coerce(events.c.occurred_at, sa.Text).label("occurred_at"),
        )
        .where(events.c.occurred_at.is_not(None), utc_sortable(events.c.occurred_at).is_(None))
        .order_by(events.c.user_id)
        .limit(limit)
    )
