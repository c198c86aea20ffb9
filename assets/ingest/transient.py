"""Which failures of an ingest step are worth the step's retry policy.

The Stripe and warehouse steps are tried again, minutes later, after an outage: a dropped
connection, Stripe's 5xx or 429 after the client's own retries, a database that went away. An
error that the same call would raise again (a key Stripe refuses, a table or column that does not
exist, a malformed database URL, too many bad rows) fails the step at once instead, so the run's
failure and its alert come now, not after three retries and about seven minutes of backoff.
"""

from __future__ import annotations

import sqlalchemy as sa
import stripe as stripe_sdk

from resources.stripe_reader import StripeRateLimited

TRANSIENT: tuple[type[BaseException], ...] = (
    stripe_sdk.APIConnectionError,  # the network, after the SDK's own retries
    StripeRateLimited,  # 429 after our pacing's retries (StripeReader.call raises this, not the SDK's)
    stripe_sdk.RateLimitError,  # a 429 outside StripeReader.call
    stripe_sdk.APIError,  # Stripe's 5xx
    sa.exc.OperationalError,  # connection refused or dropped, server shutting down, lock timeouts
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,  # no connection free in the pool
    OSError,  # sockets and files outside the clients
)


def is_transient(error: BaseException) -> bool:
    """True when trying the same step again later may succeed."""
    if isinstance(error, sa.exc.OperationalError) and str(error.orig).startswith(("no such table", "no such column")):
        return False  # SQLite reports a missing table or column as "operational"
    return isinstance(error, TRANSIENT)
