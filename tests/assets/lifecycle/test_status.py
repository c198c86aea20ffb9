"""The subscription_status state machine and expires_at."""

from __future__ import annotations

from typing import Any

import pytest

from assets.lifecycle import SubscriptionView, utc
from assets.lifecycle.status import FREE, LifecycleStatus, SubscriptionState, account_status, subscription_status
from tests.fixtures.stripe_events import DAY, T, subscription

END = T + 30 * DAY
S = SubscriptionState

CASES: list[tuple[dict[str, Any], int, SubscriptionState, int | None]] = [
    (subscription(), 2000, S.ACTIVE, END),
    (subscription(), 0, S.FREE, None),
    (subscription(status="trialing", trial_end=T + 14 * DAY), 0, S.TRIALING, T + 14 * DAY),
    (
        subscription(status="trialing", trial_end=T + 14 * DAY, cancel_at_period_end=True),
        0,
        S.TRIAL_CANCELLED,
        T + 14 * DAY,
    ),
    (subscription(cancel_at_period_end=True), 2000, S.CANCELLED_PENDING, END),
    (subscription(cancel_at=T + 9 * DAY), 2000, S.CANCELLED_PENDING, T + 9 * DAY),
    (subscription(status="past_due"), 2000, S.PAST_DUE, END),
    (subscription(status="incomplete"), 0, S.PAST_DUE, END),
    (subscription(status="paused"), 0, S.PAUSED, None),
    (subscription(status="canceled", ended_at=T + 5 * DAY, cancel_at_period_end=True), 0, S.EXPIRED, T + 5 * DAY),
    (subscription(status="unpaid"), 0, S.EXPIRED, None),
    (subscription(status="incomplete_expired"), 0, S.EXPIRED, None),
]


@pytest.mark.parametrize(("payload", "mrr", "state", "expires"), CASES)
def test_states(payload: dict[str, Any], mrr: int, state: SubscriptionState, expires: int | None) -> None:
    status = subscription_status(SubscriptionView.from_payload(payload), mrr)
    assert status == LifecycleStatus(state, utc(expires) if expires else None)


def test_every_state_is_reachable() -> None:
    assert {state for _, _, state, _ in CASES} == set(SubscriptionState)


def test_an_account_shows_its_most_engaged_subscription() -> None:
    expired = LifecycleStatus(S.EXPIRED, utc(T))
    trial = LifecycleStatus(S.TRIALING, utc(T + DAY))
    paying = LifecycleStatus(S.ACTIVE, utc(END))
    assert account_status([expired, trial, paying]) == paying
    assert account_status([expired, trial]) == trial
    assert account_status([expired, FREE]) == FREE
    assert account_status([]) == FREE
