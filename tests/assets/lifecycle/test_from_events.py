"""Lifecycle events from Stripe events: one table row per event type and rule."""

from __future__ import annotations

from typing import Any

import pytest

from assets.lifecycle import SubscriptionView
from assets.lifecycle.from_events import derive_from_events
from assets.lifecycle.model import (
    MAX_METADATA_KEYS,
    METADATA_KEYS,
    LifecycleEvent,
    LifecycleType,
    resolve_event_names,
    utc,
)
from emulators.stripe import objects
from tests.fixtures.stripe_events import (
    DAY,
    FREE,
    NAMES,
    PRO,
    PRO_YEARLY,
    VALUATION,
    T,
    event,
    invoice,
    load,
    subscription,
)


def open_cycle_invoice(invoice_id: str, **fields: Any) -> dict:
    """A renewal invoice of 20.00 still open (what `invoice.payment_failed` carries)."""
    return invoice(invoice_id, total=2000, billing_reason="subscription_cycle", status="open", **fields)


TRIAL = subscription(status="trialing", trial_start=T, trial_end=T + 14 * DAY, latest_invoice="in_0")
CONVERTED = subscription(trial_start=T, trial_end=T + 14 * DAY, latest_invoice="in_2")
ACTIVE = subscription()
CANCEL_REQUEST = {"reason": "cancellation_requested", "feedback": "too_expensive"}
SCHEDULED = subscription(cancel_at_period_end=True, canceled_at=T + DAY, cancellation_details=CANCEL_REQUEST)
PAST_DUE = subscription(status="past_due", latest_invoice="in_5")


def derive(events: list[dict[str, Any]], known: list[dict[str, Any]] = ()) -> list[LifecycleEvent]:
    views = {s["id"]: SubscriptionView.from_payload(s) for s in known}
    derivation = derive_from_events(events, names=NAMES, valuation=VALUATION, subscriptions=views)
    assert derivation.unresolved == []
    return derivation.events


def refund_events(id: str, created: int, refunded: int, before: int, reason: str | None) -> list[dict[str, Any]]:
    """What a refund emits: refund.created, then charge.refunded with the refunded total."""
    charge = objects.charge(
        "ch_1",
        amount=5000,
        currency="usd",
        customer="cus_1",
        created=T,
        payment_intent="pi_1",
        amount_refunded=refunded,
    )
    refund = objects.refund(
        f"re_{id}", charge="ch_1", amount=refunded - before, currency="usd", created=created, reason=reason
    )
    return [
        event(f"{id}r", "refund.created", created, refund),
        event(id, "charge.refunded", created, charge, {**charge, "amount_refunded": before}),
    ]


CASES: dict[str, tuple[list[dict[str, Any]], list[tuple[str, str]]]] = {
    "trial started": (
        [event("e1", "customer.subscription.created", T, TRIAL)],
        [("started-trial", f"sub:sub_1:trial:{T}")],
    ),
    "initial purchase": (
        [
            event("e1", "customer.subscription.created", T, ACTIVE),
            event("e2", "invoice.paid", T, invoice("in_1", total=2000, billing_reason="subscription_create")),
        ],
        [("purchased-subscription", "invoice:in_1")],
    ),
    "a created subscription whose first payment fails is no purchase": (
        [
            event("e1", "customer.subscription.created", T, ACTIVE),
            event("e2", "customer.subscription.updated", T, subscription(status="incomplete"), ACTIVE),
        ],
        [],
    ),
    "initial purchase after a failed first payment": (
        [
            event("e1", "customer.subscription.created", T, subscription(status="incomplete")),
            event("e2", "customer.subscription.updated", T + 60, ACTIVE, subscription(status="incomplete")),
        ],
        [("purchased-subscription", "invoice:in_1")],
    ),
    "a free plan is no purchase": (
        [
            event("e1", "customer.subscription.created", T, subscription(FREE)),
            event("e2", "invoice.paid", T, invoice("in_1", total=0, billing_reason="subscription_create")),
        ],
        [],
    ),
    "trial converted, and its invoice is no renewal": (
        [
            event("e2", "invoice.paid", T + 14 * DAY, invoice("in_2", total=2000, billing_reason="subscription_cycle")),
            event("e1", "customer.subscription.updated", T + 14 * DAY, CONVERTED, TRIAL),
        ],
        [("converted-trial", "invoice:in_2")],
    ),
    "trial cancelled": (
        [
            event(
                "e1",
                "customer.subscription.updated",
                T + DAY,
                {
                    **TRIAL,
                    "cancel_at_period_end": True,
                    "canceled_at": T + DAY,
                    "cancellation_details": {**TRIAL["cancellation_details"], **CANCEL_REQUEST},
                },
                TRIAL,
            )
        ],
        [("cancelled-trial", f"sub:sub_1:cancelled:{T + DAY}")],
    ),
    "trial cancelled at once": (
        [
            event(
                "e1",
                "customer.subscription.deleted",
                T + DAY,
                {**TRIAL, "status": "canceled", "canceled_at": T + DAY, "ended_at": T + DAY},
            )
        ],
        [("cancelled-trial", f"sub:sub_1:cancelled:{T + DAY}"), ("expired-subscription", "sub:sub_1:expired:in_0")],
    ),
    "renewal": (
        [event("e1", "invoice.paid", T + 30 * DAY, invoice("in_3", total=2000, billing_reason="subscription_cycle"))],
        [("renewed-subscription", "invoice:in_3")],
    ),
    "a free renewal or a proration is no renewal": (
        [
            event("e1", "invoice.paid", T, invoice("in_3", total=0, billing_reason="subscription_cycle")),
            event("e2", "invoice.paid", T, invoice("in_4", total=700, billing_reason="subscription_update")),
        ],
        [],
    ),
    "cancellation at period end": (
        [event("e1", "customer.subscription.updated", T + DAY, SCHEDULED, ACTIVE)],
        [("cancelled-subscription", f"sub:sub_1:cancelled:{T + DAY}")],
    ),
    "cancellation at a date": (
        [event("e1", "customer.subscription.updated", T + DAY, {**ACTIVE, "cancel_at": T + 9 * DAY}, ACTIVE)],
        [("cancelled-subscription", "sub:sub_1:cancelled:e1")],
    ),
    "uncancellation": (
        [event("e1", "customer.subscription.updated", T + 2 * DAY, ACTIVE, SCHEDULED)],
        [("uncancelled-subscription", f"sub:sub_1:uncancelled:{T + DAY}")],
    ),
    "expiration at period end": (
        [
            event(
                "e1",
                "customer.subscription.deleted",
                T + 30 * DAY,
                {**SCHEDULED, "status": "canceled", "ended_at": T + 30 * DAY},
            )
        ],
        [("expired-subscription", "sub:sub_1:expired:in_1")],
    ),
    "expiration when dunning runs out": (
        [
            event(
                "e1",
                "customer.subscription.deleted",
                T + 40 * DAY,
                {
                    **PAST_DUE,
                    "status": "canceled",
                    "canceled_at": T + 40 * DAY,
                    "ended_at": T + 40 * DAY,
                    "cancellation_details": {**PAST_DUE["cancellation_details"], "reason": "payment_failed"},
                },
            )
        ],
        [("expired-subscription", "sub:sub_1:expired:in_5")],
    ),
    "unpaid then deleted expires once": (
        [
            event("e1", "customer.subscription.updated", T + 40 * DAY, {**PAST_DUE, "status": "unpaid"}, PAST_DUE),
            event(
                "e2",
                "customer.subscription.deleted",
                T + 50 * DAY,
                {**PAST_DUE, "status": "canceled", "ended_at": T + 50 * DAY, "canceled_at": T + 50 * DAY},
            ),
        ],
        [
            ("expired-subscription", "sub:sub_1:expired:in_5"),
            ("cancelled-subscription", f"sub:sub_1:cancelled:{T + 50 * DAY}"),
        ],
    ),
    "billing issue once per failure, not per retry": (
        [
            event("e1", "invoice.payment_failed", T, open_cycle_invoice("in_5")),
            event(
                "e2",
                "customer.subscription.updated",
                T,
                PAST_DUE,
                {**PAST_DUE, "status": "active", "latest_invoice": "in_1"},
            ),
            event("e3", "invoice.payment_failed", T + 3 * DAY, open_cycle_invoice("in_5", attempt_count=2)),
            event("e4", "invoice.payment_failed", T + 5 * DAY, open_cycle_invoice("in_5", attempt_count=3)),
        ],
        [("had-billing-issue", "invoice:in_5:failed")],
    ),
    "two failed invoices are two billing issues": (
        [
            event("e1", "invoice.payment_failed", T, open_cycle_invoice("in_5")),
            event("e2", "invoice.payment_failed", T + 31 * DAY, open_cycle_invoice("in_6")),
        ],
        [("had-billing-issue", "invoice:in_5:failed"), ("had-billing-issue", "invoice:in_6:failed")],
    ),
    "product change at equal MRR": (
        [event("e1", "customer.subscription.updated", T + DAY, subscription(PRO_YEARLY), ACTIVE)],
        [("changed-product", "sub:sub_1:plan:e1")],
    ),
    "plan upgraded": (
        [event("e1", "customer.subscription.updated", T + DAY, subscription(PRO), ACTIVE)],
        [("upgraded-plan", "sub:sub_1:plan:e1")],
    ),
    "plan downgraded": (
        [event("e1", "customer.subscription.updated", T + DAY, ACTIVE, subscription(PRO))],
        [("downgraded-plan", "sub:sub_1:plan:e1")],
    ),
    "seats alone are no plan change": (
        [event("e1", "customer.subscription.updated", T + DAY, subscription(quantity=5), ACTIVE)],
        [],
    ),
    "refunds, one event per refund": (
        [*refund_events("e1", T + DAY, 1000, 0, "duplicate"), *refund_events("e2", T + 2 * DAY, 1500, 1000, None)],
        [("refunded-charge", "refund:e1"), ("refunded-charge", "refund:e2")],
    ),
    "non-subscription purchase": (
        [event("e1", "invoice.paid", T, invoice("in_9", total=1500, billing_reason="manual", sub_id=None))],
        [("made-purchase", "invoice:in_9")],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_event_rules(case: str) -> None:
    stripe_events, expected = CASES[case]
    derived = derive(stripe_events, known=[ACTIVE])
    assert [(e.name, e.key) for e in derived] == expected
    by_id = {e["id"]: e for e in stripe_events}
    for lifecycle_event in derived:
        source = by_id[lifecycle_event.stripe_event_id]
        assert lifecycle_event.occurred_at == utc(source["created"])
        assert lifecycle_event.customer_id == "cus_1"


def test_every_type_has_a_case() -> None:
    names = {name for _, expected in CASES.values() for name, _ in expected}
    assert names == set(NAMES.values())


def test_metadata_of_an_upgrade() -> None:
    (upgrade,) = derive([event("e1", "customer.subscription.updated", T + DAY, subscription(PRO, quantity=2), ACTIVE)])
    assert upgrade.metadata == {
        "plan": "pro",
        "price": {"amount": 5000, "currency": "usd"},
        "mrr_before": {"amount": 2000, "currency": "usd"},
        "mrr_after": {"amount": 10000, "currency": "usd"},
        "period_end_date": T + 30 * DAY,
        "subscription_id": "sub_1",
    }


def test_cancellation_carries_its_reason() -> None:
    (cancel,) = derive([event("e1", "customer.subscription.updated", T + DAY, SCHEDULED, ACTIVE)])
    assert cancel.reason == cancel.metadata["reason"] == "cancellation_requested"


def test_refund_metadata_is_the_refunded_amount_and_the_refunds_reason() -> None:
    first, second = derive(
        [
            *refund_events("e1", T + DAY, 1000, 0, "requested_by_customer"),
            *refund_events("e2", T + DAY, 1500, 1000, None),
        ]
    )
    assert first.metadata == {
        "price": {"amount": 1000, "currency": "usd"},
        "reason": "requested_by_customer",
        "charge_id": "ch_1",
    }
    assert second.metadata == {"price": {"amount": 500, "currency": "usd"}, "reason": "unknown", "charge_id": "ch_1"}


def test_invoice_of_an_unknown_subscription_is_reported() -> None:
    paid = event(
        "e1", "invoice.paid", T, invoice("in_3", total=2000, billing_reason="subscription_cycle", sub_id="sub_x")
    )
    derivation = derive_from_events([paid], names=NAMES, valuation=VALUATION)
    assert (derivation.events, derivation.unresolved) == ([], ["e1"])


def test_a_repeated_stripe_event_counts_once() -> None:
    created = event("e1", "customer.subscription.created", T, TRIAL)
    assert len(derive([created, created])) == 1


def test_renamed_events() -> None:
    names = resolve_event_names({"renewal": "subscription-renewed"})
    paid = event("e1", "invoice.paid", T, invoice("in_3", total=2000, billing_reason="subscription_cycle"))
    known = {"sub_1": SubscriptionView.from_payload(ACTIVE)}
    (renewal,) = derive_from_events([paid], names=names, valuation=VALUATION, subscriptions=known).events
    assert renewal.name == "subscription-renewed"


@pytest.mark.parametrize(
    "overrides",
    [{"renewal": "Started-Trial"}, {"renewal": "started.trial"}, {"renewal": "started$trial"}, {"renewal": " "}],
)
def test_names_that_intercom_would_merge_are_refused(overrides: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        resolve_event_names(overrides)


def test_metadata_keys_are_fixed_per_type_and_within_intercoms_limit() -> None:
    assert all(len(keys) <= MAX_METADATA_KEYS for keys in METADATA_KEYS.values())
    assert set(METADATA_KEYS) == set(LifecycleType)
    (trial,) = derive([event("e1", "customer.subscription.created", T, TRIAL)])
    with pytest.raises(ValueError, match="metadata keys"):
        LifecycleEvent(**{**trial.__dict__, "metadata": {**trial.metadata, "extra": 1}})


# --- the same history in two API versions ---------------------------------------------------------------

EXPECTED_SCENARIO = [
    ("started-trial", "sub:sub_A:trial:1767225600", "2026-01-01"),
    ("converted-trial", "invoice:in_1", "2026-01-15"),
    ("had-billing-issue", "invoice:in_2:failed", "2026-02-15"),
    ("renewed-subscription", "invoice:in_2", "2026-02-20"),
    ("upgraded-plan", "sub:sub_A:plan:evt_09", "2026-02-25"),
    ("cancelled-subscription", "sub:sub_A:cancelled:1772150400", "2026-02-27"),
    ("uncancelled-subscription", "sub:sub_A:uncancelled:1772150400", "2026-02-28"),
    ("refunded-charge", "refund:evt_12", "2026-03-01"),
    ("made-purchase", "invoice:in_9", "2026-03-02"),
    ("cancelled-subscription", "sub:sub_A:cancelled:1772496000", "2026-03-03"),
    ("expired-subscription", "sub:sub_A:expired:in_2", "2026-03-03"),
]


@pytest.mark.parametrize("version", ["2026-10-28.endive", "2024-06-20"])
def test_fixture_history_in_each_version(version: str) -> None:
    page = load(f"lifecycle.{version}.json")
    assert {e["api_version"] for e in page["data"]} == {version}
    derived = derive(page["data"])
    assert [(e.name, e.key, e.occurred_at.date().isoformat()) for e in derived] == EXPECTED_SCENARIO


def test_both_versions_yield_identical_events() -> None:
    pinned, legacy = (derive(load(f"lifecycle.{v}.json")["data"]) for v in ("2026-10-28.endive", "2024-06-20"))
    assert pinned == legacy
    upgrade = next(e for e in legacy if e.type is LifecycleType.PLAN_UPGRADED)
    assert (upgrade.metadata["mrr_before"]["amount"], upgrade.metadata["mrr_after"]["amount"]) == (2000, 5000)
    assert upgrade.metadata["period_end_date"] == 1773532800  # read from the subscription-level period in 2024
