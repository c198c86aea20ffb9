"""Per-endpoint request rate limit over a sliding one-second window (wall time, not the emulator clock)."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class SlidingWindowLimiter:
    def __init__(self, per_second: int | None, window_seconds: float = 1.0) -> None:
        self.per_second = per_second  # None disables the limit
        self.window_seconds = window_seconds
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        if self.per_second is None:
            return True
        now = time.monotonic()
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window_seconds:
            hits.popleft()
        if len(hits) >= self.per_second:
            return False
        hits.append(now)
        return True

    def reset(self) -> None:
        self._hits.clear()
