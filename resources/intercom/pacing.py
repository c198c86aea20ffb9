"""Client-side rate pacing: one rate-limit window shared by every request to Intercom, driven by
its response headers (the emulator's server-side counter is `RateWindowCounter`).

Intercom grants `X-RateLimit-Limit` calls per 10-second window and reports, on each response,
`X-RateLimit-Remaining` and `X-RateLimit-Reset` (a Unix timestamp). The pacer keeps a local count
of the calls it let through in the current window, tightens it with what the server reports (other
apps may share the workspace budget), and makes callers wait for the reset once the window is spent.
That lets a burst use the whole window without a 429, and a 429 (budget spent elsewhere) stops
every caller until the reset plus jitter. It knows nothing about HTTP.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

DEFAULT_WINDOW_S = 10.0


@dataclass(frozen=True)
class RateLimitHeaders:
    limit: int | None
    remaining: int | None
    reset: float | None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders:
        get = headers.get

        def number(name: str) -> float | None:
            raw = get(name)
            try:
                return float(raw) if raw is not None else None
            except ValueError:
                return None

        limit, remaining = number("x-ratelimit-limit"), number("x-ratelimit-remaining")
        return cls(
            limit=int(limit) if limit is not None else None,
            remaining=int(remaining) if remaining is not None else None,
            reset=number("x-ratelimit-reset"),
        )


class RatePacer:
    """Admits a call when the window has budget left and fewer than `max_in_flight` are running.

    Until the first response reveals the limit, one call at a time probes it. `reserve` calls per
    window are left for other apps on the workspace. `margin_s` after a reset absorbs clock skew.
    """

    def __init__(
        self,
        *,
        max_in_flight: int,
        reserve: int = 0,
        window_s: float = DEFAULT_WINDOW_S,
        margin_s: float = 0.05,
        max_jitter_s: float = 0.5,
        unknown_reset_base_s: float = 0.25,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.reserve = reserve
        self.window_s = window_s
        self.margin_s = margin_s
        self.max_jitter_s = max_jitter_s
        self.unknown_reset_base_s = unknown_reset_base_s
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._cond = asyncio.Condition()
        self._limit: int | None = None
        self._remaining: int | None = None  # local estimate for the window ending at _reset_at
        self._reset_at: float | None = None
        self._blocked_until = 0.0
        self.in_flight = 0

    @property
    def limit(self) -> int | None:
        return self._limit

    async def acquire(self) -> None:
        while True:
            async with self._cond:
                wait = self._wait_time()
                if wait == 0.0:
                    self.in_flight += 1
                    if self._remaining is not None:
                        self._remaining -= 1
                    return
                if math.isinf(wait):  # until a call finishes and reports
                    await self._cond.wait()
                    continue
            await self._sleep(wait)

    async def release(self, headers: RateLimitHeaders | None) -> None:
        async with self._cond:
            self.in_flight -= 1
            if headers is not None:
                self._observe(headers)
            self._cond.notify_all()

    async def rate_limited(self, headers: RateLimitHeaders, attempt: int = 0) -> tuple[float, bool]:
        """Release after a 429: (seconds to wait, whether every caller waits).

        With a reset header the window is spent for everyone: all callers stop until the reset plus
        jitter. Without one (a proxy's 429, say) nothing says the budget is gone: only this call
        backs off, exponentially with jitter from `unknown_reset_base_s` (`attempt` = its
        consecutive 429s), capped at one window.
        """
        async with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()
            if headers.limit is not None:
                self._limit = headers.limit
            now = self._clock()
            if headers.reset is None or headers.reset <= now:
                return min(self.window_s, self.unknown_reset_base_s * 2**attempt) * self._rng.uniform(0.5, 1.0), False
            self._blocked_until = max(self._blocked_until, headers.reset + self._rng.uniform(0, self.max_jitter_s))
            self._reset_at = headers.reset
            self._remaining = 0
            return self._blocked_until - now, True

    def _wait_time(self) -> float:
        """0 to go now, else seconds to sleep (inf = until another call finishes)."""
        now = self._clock()
        if now < self._blocked_until:
            return self._blocked_until - now
        self._roll_window(now)
        if self.in_flight >= self.max_in_flight:
            return math.inf
        if self._limit is None:  # probe: learn the limit from one response first
            return 0.0 if self.in_flight == 0 else math.inf
        if self._remaining is not None and self._remaining <= 0:
            if self._reset_at is None:
                return math.inf
            return max(self._reset_at + self.margin_s - now, 0.001)
        return 0.0

    def _roll_window(self, now: float) -> None:
        if self._reset_at is None or self._limit is None or now < self._reset_at + self.margin_s:
            return
        # A new window: full budget; its end is a guess (one window on) until a response says.
        # Calls still in flight may land in the new window, so they are counted against it.
        windows = math.floor((now - self._reset_at) / self.window_s) + 1
        self._reset_at += windows * self.window_s
        self._remaining = self._limit - self.reserve - self.in_flight

    def _observe(self, headers: RateLimitHeaders) -> None:
        if headers.limit is not None:
            self._limit = headers.limit
        if headers.remaining is None or headers.reset is None or headers.reset <= self._clock():
            return  # a window that has ended says nothing about the current one
        reported = headers.remaining - self.reserve
        if self._reset_at is not None and abs(headers.reset - self._reset_at) <= 0.5:
            self._reset_at = headers.reset
            self._remaining = reported if self._remaining is None else min(self._remaining, reported)
        else:  # a window not seen yet, or our guess of its end was wrong: calls in flight may still count
            self._reset_at = headers.reset
            self._remaining = reported - self.in_flight
