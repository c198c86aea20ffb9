"""Which ingest failures the step's retry policy gets (assets/ingest/transient.py), and the wrapper
that fails the others at once (assets/ingest/assets.py `retried_only_if_transient`)."""

from __future__ import annotations

import sqlite3

import dagster as dg
import pytest
import sqlalchemy as sa
import stripe

from assets.ingest.assets import retried_only_if_transient
from assets.ingest.stripe_store import StripeSnapshotStore
from assets.ingest.stripe_sync import IngestOptions, sync_stripe_snapshot
from assets.ingest.transient import is_transient
from emulators.http import FaultRule
from resources.state.store import StateStore
from resources.stripe import StripeResource
from resources.stripe_reader import StripeRateLimited
from tests.fixtures.stripe_emulator import STRIPE_TEST_KEY

TRANSIENT = {
    "stripe network": stripe.APIConnectionError("connection reset"),
    "stripe 429": stripe.RateLimitError("too many requests"),
    "stripe 5xx": stripe.APIError("internal error", http_status=500),
    "database went away": sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    "database locked": sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")),
    "pool exhausted": sa.exc.TimeoutError("QueuePool limit reached"),
    "socket": ConnectionResetError(104, "Connection reset by peer"),
}
PERMANENT = {
    "stripe key refused": stripe.AuthenticationError("Invalid API Key provided", http_status=401),
    "stripe permission": stripe.PermissionError("restricted key", http_status=403),
    "stripe bad request": stripe.InvalidRequestError("No such price", "price", http_status=400),
    "postgres missing table": sa.exc.ProgrammingError("SELECT", {}, Exception('relation "users" does not exist')),
    "sqlite missing table": sa.exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: users")),
    "sqlite missing column": sa.exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such column: x")),
    "malformed url": ValueError("invalid literal for int() with base 10: 'notaport'"),
    "a bug": KeyError("user_id"),
}


@pytest.mark.parametrize("error", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_outages_are_transient_and_reach_the_retry_policy_unchanged(error):
    assert is_transient(error)

    @retried_only_if_transient
    def step() -> None:
        raise error

    with pytest.raises(type(error)) as raised:
        step()
    assert raised.value is error


@pytest.mark.parametrize("error", PERMANENT.values(), ids=PERMANENT.keys())
def test_errors_a_retry_would_repeat_fail_the_step_at_once(error):
    assert not is_transient(error)

    @retried_only_if_transient
    def stripe_snapshot() -> None:
        raise error

    with pytest.raises(dg.Failure) as raised:
        stripe_snapshot()
    assert raised.value.allow_retries is False
    assert raised.value.description == (
        f"stripe_snapshot: {type(error).__name__}, not retried: the same call would fail again"
    )
    assert raised.value.__cause__ is error


def test_a_failure_the_step_raised_itself_keeps_its_own_retry_choice():
    own = dg.Failure(description="the step's own words")  # retries allowed, Dagster's default

    @retried_only_if_transient
    def step() -> None:
        raise own

    with pytest.raises(dg.Failure) as raised:
        step()
    assert raised.value is own and raised.value.allow_retries is True


def test_stripe_still_answering_429_after_the_readers_retries_reaches_the_retry_policy(
    stripe_emulator, stripe_app, tmp_path
):
    """The reader retries a 429 itself, then gives up with StripeRateLimited: that is an outage
    (Stripe's rate limit), so the step's NETWORK_RETRY must see it, not a no-retry dg.Failure."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.create_all()
    stripe_app.add_faults(FaultRule(kind="status", status=429, times=None, path_regex=r"^/v1/"))
    reader = StripeResource(
        api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000, max_rate_limit_retries=0
    ).reader()

    @retried_only_if_transient
    def stripe_snapshot() -> None:
        sync_stripe_snapshot(reader, StripeSnapshotStore(store), IngestOptions(stripe_app.state.now))

    with pytest.raises(Exception) as raised:
        stripe_snapshot()
    assert isinstance(raised.value, StripeRateLimited), raised.value
    assert is_transient(raised.value)
    store.dispose()
