"""Intercom's rate limit, server side: a per-minute budget spent in 10-second windows aligned to the
wall clock. (The client paces itself with `resources.intercom.RatePacer`.)
"""

from __future__ import annotations

from collections.abc import Callable

WINDOW_SECONDS = 10

Clock = Callable[[], float]


class RateWindowCounter:
    """Counts requests in the current window. Not thread-safe: the app calls it under its lock."""

    def __init__(self, per_minute: int | None, clock: Clock) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._window_start = 0
        self._used = 0

    @property
    def enabled(self) -> bool:
        return self.per_minute is not None

    @property
    def allowance(self) -> int:
        # 1,000/min is documented as 167 per window: Intercom rounds, it does not floor.
        return round((self.per_minute or 0) / 6)

    def _roll(self) -> None:
        start = int(self.clock() // WINDOW_SECONDS) * WINDOW_SECONDS
        if start != self._window_start:
            self._window_start, self._used = start, 0

    def acquire(self) -> bool:
        """Spend one request; False when the window's allowance is used up."""
        self._roll()
        if self._used >= self.allowance:
            return False
        self._used += 1
        return True

    def headers(self) -> dict[str, str]:
        self._roll()
        return {
            "X-RateLimit-Limit": str(self.allowance),
            "X-RateLimit-Remaining": str(max(0, self.allowance - self._used)),
            "X-RateLimit-Reset": str(self._window_start + WINDOW_SECONDS),
        }
