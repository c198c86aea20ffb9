"""Sandbox data, the first run's look-back, already-sent facts and the event-name budget."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from assets.lifecycle import derive_from_events
from assets.lifecycle.model import (
    DEFAULT_EVENT_NAMES,
    LifecycleType,
    intercom_name_key,
    utc,
)
from assets.lifecycle.policy import (
    DEFAULT_LOOKBACK,
    SentFact,
    drop_already_sent,
    event_name_budget,
    keep_mode,
    within_lookback,
)
from tests.fixtures.stripe_events import DAY, NAMES, VALUATION, T, event, subscription


def trials(*created: int) -> list:
    stripe_events = [
        event(
            f"e{i}",
            "customer.subscription.created",
            at,
            subscription(status="trialing", trial_start=at, sub_id=f"sub_{i}"),
        )
        for i, at in enumerate(created)
    ]
    return derive_from_events(stripe_events, names=NAMES, valuation=VALUATION).events


def test_test_mode_data_only_when_allowed() -> None:
    payloads = [{"id": "live", "livemode": True}, {"id": "test", "livemode": False}]
    assert [p["id"] for p in keep_mode(payloads, allow_test_mode=False)] == ["live"]
    assert [p["id"] for p in keep_mode(payloads, allow_test_mode=True)] == ["live", "test"]


def test_lookback_keeps_seven_days_by_default() -> None:
    now = utc(T + 30 * DAY)
    events = trials(T, T + 23 * DAY - 1, T + 23 * DAY, T + 29 * DAY)
    kept = within_lookback(events, now, DEFAULT_LOOKBACK)
    assert [e.subscription_id for e in kept] == ["sub_2", "sub_3"]
    assert within_lookback(events, now, timedelta(days=30)) == events


def test_a_sent_key_is_never_sent_again() -> None:
    first, second = trials(T, T + DAY)
    sent = [SentFact(first.key, first.type, first.subscription_id, first.occurred_at)]
    assert drop_already_sent([first, second], sent, since=utc(T + 10 * DAY)) == [second]


def test_a_transition_sent_after_the_old_snapshot_is_not_sent_again_under_another_key() -> None:
    (trial,) = trials(T + 5 * DAY)
    sent_by_events = SentFact("sub:sub_0:trial:other", LifecycleType.TRIAL_STARTED, "sub_0", utc(T + 5 * DAY))
    assert drop_already_sent([trial], [sent_by_events], since=utc(T + 4 * DAY)) == []
    assert drop_already_sent([trial], [sent_by_events], since=utc(T + 6 * DAY)) == [trial]


def test_name_budget_counts_as_intercom_does() -> None:
    ours = list(DEFAULT_EVENT_NAMES.values())
    workspace = [f"event-{i}" for i in range(100)]
    budget = event_name_budget([*workspace, "Started-Trial"], ours)
    assert budget.distinct == 100 + len(ours)
    assert "started-trial" not in budget.missing and len(budget.missing) == len(ours) - 1
    assert budget.warning and "of 120" in budget.warning
    assert event_name_budget(workspace[:50], ours).warning is None
    over = event_name_budget([f"event-{i}" for i in range(110)], ours)
    assert over.distinct == 124 and "exceed" in over.warning


@given(st.lists(st.text(min_size=1, max_size=8), max_size=150))
def test_name_budget_bounds(names: list[str]) -> None:
    ours = list(DEFAULT_EVENT_NAMES.values())
    budget = event_name_budget(names, ours)
    workspace = {intercom_name_key(n) for n in names}
    assert len(workspace) <= budget.distinct <= len(workspace) + len(ours)
    assert budget.distinct == len(workspace) + len(budget.missing)
    assert not {intercom_name_key(n) for n in budget.missing} & workspace
    assert (budget.warning is None) == (budget.distinct < budget.limit - 10)
