"""Lifecycle events from two daily snapshots: one table row per event type the diff can see."""

from __future__ import annotations

from typing import Any

import pytest

from assets.lifecycle import derive_from_events, utc
from assets.lifecycle.from_snapshots import Snapshot, derive_from_snapshots
from tests.fixtures.stripe_events import DAY, NAMES, PRO, PRO_YEARLY, VALUATION, T, event, subscription

BEFORE, AFTER = T + 10 * DAY, T + 11 * DAY  # the two snapshot times
MID = BEFORE + 3600

TRIAL = subscription(status="trialing", trial_start=MID, trial_end=MID + 14 * DAY, latest_invoice="in_0")
OLD_TRIAL = {**TRIAL, "trial_start": T, "trial_end": AFTER - 60}
ACTIVE = subscription(period_start=T, period_end=T + 30 * DAY)
RENEWED = subscription(period_start=MID, period_end=MID + 30 * DAY, latest_invoice="in_2")
CANCEL = {
    "cancel_at_period_end": True,
    "canceled_at": MID,
    "cancellation_details": {"reason": "cancellation_requested"},
}

CASES: dict[str, tuple[dict[str, Any] | None, dict[str, Any], list[tuple[str, str, int]]]] = {
    "trial started": (None, TRIAL, [("started-trial", f"sub:sub_1:trial:{MID}", MID)]),
    "initial purchase": (None, subscription(start_date=MID), [("purchased-subscription", "invoice:in_1", MID)]),
    "trial converted": (
        OLD_TRIAL,
        {**OLD_TRIAL, "status": "active", "latest_invoice": "in_2"},
        [("converted-trial", "invoice:in_2", AFTER - 60)],
    ),
    "trial cancelled": ({**TRIAL}, {**TRIAL, **CANCEL}, [("cancelled-trial", f"sub:sub_1:cancelled:{MID}", MID)]),
    "renewal": (ACTIVE, RENEWED, [("renewed-subscription", "invoice:in_2", MID)]),
    "cancellation": (ACTIVE, {**ACTIVE, **CANCEL}, [("cancelled-subscription", f"sub:sub_1:cancelled:{MID}", MID)]),
    "uncancellation": (
        {**ACTIVE, **CANCEL, "canceled_at": T},
        ACTIVE,
        [("uncancelled-subscription", f"sub:sub_1:uncancelled:{T}", AFTER)],
    ),
    "expiration": (
        {**ACTIVE, **CANCEL, "canceled_at": T},
        {**ACTIVE, **CANCEL, "canceled_at": T, "status": "canceled", "ended_at": MID},
        [("expired-subscription", "sub:sub_1:expired:in_1", MID)],
    ),
    "billing issue": (
        ACTIVE,
        {**RENEWED, "status": "past_due", "latest_invoice": "in_3"},
        [("had-billing-issue", "invoice:in_3:failed", AFTER)],
    ),
    "product change": (
        ACTIVE,
        subscription(PRO_YEARLY, period_start=T, period_end=T + 30 * DAY),
        [("changed-product", f"sub:sub_1:plan:snapshot:{BEFORE}", AFTER)],
    ),
    "plan upgraded": (
        ACTIVE,
        subscription(PRO, period_start=T, period_end=T + 30 * DAY),
        [("upgraded-plan", f"sub:sub_1:plan:snapshot:{BEFORE}", AFTER)],
    ),
    "plan downgraded": (
        subscription(PRO, period_start=T, period_end=T + 30 * DAY),
        ACTIVE,
        [("downgraded-plan", f"sub:sub_1:plan:snapshot:{BEFORE}", AFTER)],
    ),
    "nothing changed": (ACTIVE, ACTIVE, []),
    "a past_due renewal is a billing issue, not a renewal": (
        ACTIVE,
        {**RENEWED, "status": "past_due"},
        [("had-billing-issue", "invoice:in_2:failed", AFTER)],
    ),
}


def snapshots(before: dict[str, Any] | None, after: dict[str, Any]) -> tuple[Snapshot, Snapshot]:
    return Snapshot.from_payloads(BEFORE, [before] if before else []), Snapshot.from_payloads(AFTER, [after])


@pytest.mark.parametrize("case", CASES)
def test_snapshot_rules(case: str) -> None:
    before, after, expected = CASES[case]
    derived = derive_from_snapshots(*snapshots(before, after), names=NAMES, valuation=VALUATION)
    assert [(e.name, e.key, e.occurred_at) for e in derived] == [(n, k, utc(at)) for n, k, at in expected]
    assert all(e.stripe_event_id is None and e.customer_id == "cus_1" for e in derived)


def test_times_outside_the_window_are_clamped_to_the_newer_snapshot() -> None:
    backdated = subscription(status="trialing", trial_start=T - 90 * DAY, trial_end=AFTER + DAY)
    (started,) = derive_from_snapshots(*snapshots(None, backdated), names=NAMES, valuation=VALUATION)
    assert started.occurred_at == utc(AFTER)


def test_the_diff_and_the_events_name_shared_facts_alike() -> None:
    """Billing issue, paid starts, cancellations and expirations: same key from either source."""
    scheduled = {**ACTIVE, **CANCEL}
    ended = {**scheduled, "status": "canceled", "ended_at": MID}
    failing = {**RENEWED, "status": "past_due", "latest_invoice": "in_3"}
    pairs = [(ACTIVE, scheduled), (scheduled, ended), (ACTIVE, failing), (TRIAL, {**TRIAL, "status": "active"})]
    for before, after in pairs:
        from_diff = derive_from_snapshots(*snapshots(before, after), names=NAMES, valuation=VALUATION)
        stripe_event = event("e1", "customer.subscription.updated", MID, after, before)
        from_events = derive_from_events([stripe_event], names=NAMES, valuation=VALUATION).events
        assert {e.key for e in from_diff} == {e.key for e in from_events}


def test_a_snapshot_parses_a_subscription_when_it_is_first_read() -> None:
    """An incremental run looks up the few subscriptions its invoices name, not all of them."""
    broken = {"id": "sub_broken", "items": "not a list"}  # parsing it would fail
    current = Snapshot.from_payloads(AFTER, [ACTIVE, broken])
    assert "sub_broken" in current.subscriptions and len(current.subscriptions) == 2
    view = current.subscriptions["sub_1"]
    assert view.status == "active" and current.subscriptions["sub_1"] is view  # parsed once
