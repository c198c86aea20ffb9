"""One request budget for every Stripe call of a process: a global rate and a per-endpoint rate.

Stripe limits reads per account (100 requests/s in live mode, 25/s in test mode) and per endpoint
(25/s unless stated otherwise). Concurrent listings share this one budget, so pages fetched in
parallel never exceed what Stripe allows. Each call reserves the next free slot on the global
clock and on its endpoint's clock (no bursts: calls are evenly spaced), then sleeps until it.

Plain Python (no Dagster, no HTTP); thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

# Stripe's documented read limits (https://docs.stripe.com/rate-limits).
LIVE_REQUESTS_PER_SECOND = 100.0
TEST_REQUESTS_PER_SECOND = 25.0
ENDPOINT_REQUESTS_PER_SECOND = 25.0


def default_budget(api_key: str) -> float:
    """The global limit Stripe documents for this key's mode (live keys: `sk_live_`/`rk_live_`)."""
    return LIVE_REQUESTS_PER_SECOND if "_live_" in api_key[:8] else TEST_REQUESTS_PER_SECOND


@dataclass(frozen=True)
class BudgetUsage:
    """What the budget saw: calls (429 answers included) and how many were answered 429."""

    calls: int
    rate_limited: int
    calls_by_endpoint: dict[str, int]


class RequestBudget:
    def __init__(self, per_second: float, per_endpoint: float = ENDPOINT_REQUESTS_PER_SECOND) -> None:
        if per_second <= 0 or per_endpoint <= 0:
            raise ValueError(f"request rates must be positive, not {per_second} and {per_endpoint}")
        self.per_second = per_second
        # No endpoint is paced faster than the whole budget.
        self.per_endpoint = min(per_endpoint, per_second)
        self._lock = threading.Lock()
        self._next_global = 0.0
        self._next_by_endpoint: dict[str, float] = {}
        self._calls: Counter[str] = Counter()
        self._rate_limited = 0

    def acquire(self, endpoint: str) -> None:
        """Wait for this call's slot on the global and the endpoint clock."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_global, self._next_by_endpoint.get(endpoint, 0.0))
            self._next_global = slot + 1.0 / self.per_second
            self._next_by_endpoint[endpoint] = slot + 1.0 / self.per_endpoint
            self._calls[endpoint] += 1
        wait = slot - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def note_rate_limited(self) -> None:
        with self._lock:
            self._rate_limited += 1

    def usage(self) -> BudgetUsage:
        with self._lock:
            return BudgetUsage(sum(self._calls.values()), self._rate_limited, dict(self._calls))
