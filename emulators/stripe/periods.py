"""Billing-period arithmetic on Unix seconds, anchored the way Stripe anchors periods.

Months keep the anchor's day of month and clamp to the month's last day (Jan 31 → Feb 28 → Mar 31
when counted from the anchor), which is why `add_interval` always counts from the anchor.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

DAY = 86_400
_FIXED_SECONDS = {"day": DAY, "week": 7 * DAY}


def add_months(ts: int, months: int) -> int:
    start = datetime.fromtimestamp(ts, UTC)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def add_interval(anchor: int, interval: str, interval_count: int = 1, periods: int = 1) -> int:
    """The end of `periods` billing periods of `interval_count` × `interval` starting at `anchor`."""
    steps = interval_count * periods
    if interval in _FIXED_SECONDS:
        return anchor + _FIXED_SECONDS[interval] * steps
    if interval == "month":
        return add_months(anchor, steps)
    if interval == "year":
        return add_months(anchor, 12 * steps)
    raise ValueError(f"unknown interval {interval!r}")


def days(n: float) -> int:
    return int(timedelta(days=n).total_seconds())
