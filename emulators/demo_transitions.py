"""Subscription histories that pass through every lifecycle transition, scripted through the Stripe
emulator's API (so every step emits the events real Stripe would) and its simulation controls.

One customer per scenario; the clock moves forward day by day, so each transition has its own
time. `run_transitions` returns what each customer's history should produce in Intercom.

    app = StripeEmulator(...)              # started behind an EmulatorServer
    client = stripe.StripeClient(key, base_addresses={"api": server.url})
    expected = run_transitions(app, client, {"trial_converts": "cus_1", ...}, prices)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import stripe

from emulators.stripe import StripeEmulator
from emulators.stripe.periods import add_months, days

# Scenario -> the lifecycle event types its history yields (in time order).
SCENARIOS: dict[str, tuple[str, ...]] = {
    "trial_converts": ("trial_started", "trial_converted"),
    "trial_cancelled": ("trial_started", "trial_cancelled", "expiration"),
    "purchase_renews": ("initial_purchase", "renewal"),
    "cancel_uncancel_expire": ("initial_purchase", "cancellation", "uncancellation", "cancellation", "expiration"),
    "billing_issue": ("initial_purchase", "billing_issue"),
    "plan_changes": ("initial_purchase", "plan_upgraded", "plan_downgraded", "product_change"),
    "refund": ("initial_purchase", "refund"),
    "one_off_purchase": ("non_subscription_purchase",),
}


@dataclass(frozen=True)
class TransitionPrices:
    monthly: str  # the base plan
    upgrade: str  # a monthly price worth more
    yearly: str  # a yearly price worth the same MRR as `monthly`
    currency: str = "usd"


@dataclass(frozen=True)
class Expected:
    customer: str
    type: str
    at: int


def run_transitions(
    app: StripeEmulator,
    client: stripe.StripeClient,
    customers: Mapping[str, str],
    prices: TransitionPrices,
    on_step: Callable[[int], None] | None = None,
) -> list[Expected]:
    """Drive each scenario in `customers` (scenario -> customer id) from the emulator's current time
    to 35 days later. Customers get a default payment method so their trials convert. `on_step` is
    called with the clock after each step, e.g. to run a sync in between (Stripe keeps events for
    30 days, so one read at the end would miss the first days)."""
    start = app.state.now
    expected: list[Expected] = []
    steps: list[tuple[int, Callable[[], None]]] = []
    subs: dict[str, str] = {}

    def note(scenario: str, type_: str, at: int) -> None:
        expected.append(Expected(customers[scenario], type_, at))

    def subscribe(scenario: str, **params: object) -> None:
        sub = client.v1.subscriptions.create(
            {"customer": customers[scenario], "items": [{"price": prices.monthly}], **params}  # type: ignore[typeddict-item]
        )
        subs[scenario] = sub.id

    def update(scenario: str, **params: object) -> None:
        client.v1.subscriptions.update(subs[scenario], params)  # type: ignore[arg-type]

    def change_price(scenario: str, price: str) -> None:
        item = client.v1.subscriptions.retrieve(subs[scenario])["items"]["data"][0]["id"]
        update(scenario, items=[{"id": item, "price": price}])

    for customer in customers.values():
        client.v1.customers.update(customer, {"invoice_settings": {"default_payment_method": "pm_card_visa"}})

    def at(offset: int, action: Callable[[], None]) -> None:
        steps.append((start + offset, action))

    renewal = add_months(start, 1)
    if "trial_converts" in customers:
        at(0, lambda: subscribe("trial_converts", trial_period_days=14))
        note("trial_converts", "trial_started", start)
        note("trial_converts", "trial_converted", start + days(14))
    if "trial_cancelled" in customers:
        at(0, lambda: subscribe("trial_cancelled", trial_period_days=14))
        at(days(1), lambda: client.v1.subscriptions.cancel(subs["trial_cancelled"]))
        note("trial_cancelled", "trial_started", start)
        note("trial_cancelled", "trial_cancelled", start + days(1))
        note("trial_cancelled", "expiration", start + days(1))
    if "purchase_renews" in customers:
        at(0, lambda: subscribe("purchase_renews"))
        note("purchase_renews", "initial_purchase", start)
        note("purchase_renews", "renewal", renewal)
    if "cancel_uncancel_expire" in customers:
        at(0, lambda: subscribe("cancel_uncancel_expire"))
        at(days(2), lambda: update("cancel_uncancel_expire", cancel_at_period_end=True))
        at(days(3), lambda: update("cancel_uncancel_expire", cancel_at_period_end=False))
        at(days(4), lambda: update("cancel_uncancel_expire", cancel_at_period_end=True))
        for type_, offset in [("initial_purchase", 0), ("cancellation", 2), ("uncancellation", 3), ("cancellation", 4)]:
            note("cancel_uncancel_expire", type_, start + days(offset))
        note("cancel_uncancel_expire", "expiration", renewal)
    if "billing_issue" in customers:
        at(0, lambda: subscribe("billing_issue"))
        at(days(20), lambda: app.set_payments_failing(customers["billing_issue"]))
        note("billing_issue", "initial_purchase", start)
        note("billing_issue", "billing_issue", renewal)  # retried 3 days later: still one event
    if "plan_changes" in customers:
        at(0, lambda: subscribe("plan_changes"))
        at(days(5), lambda: change_price("plan_changes", prices.upgrade))
        at(days(6), lambda: change_price("plan_changes", prices.monthly))
        at(days(7), lambda: change_price("plan_changes", prices.yearly))
        changes = [("initial_purchase", 0), ("plan_upgraded", 5), ("plan_downgraded", 6), ("product_change", 7)]
        for type_, offset in changes:
            note("plan_changes", type_, start + days(offset))
    if "refund" in customers:
        at(0, lambda: subscribe("refund"))
        at(days(8), lambda: _refund_latest_charge(client, customers["refund"]))
        note("refund", "initial_purchase", start)
        note("refund", "refund", start + days(8))
        note("refund", "renewal", renewal)
    if "one_off_purchase" in customers:
        customer = customers["one_off_purchase"]
        at(days(9), lambda: app.purchase(customer, 4900, prices.currency, "Onboarding workshop"))
        note("one_off_purchase", "non_subscription_purchase", start + days(9))

    for when, action in [*sorted(steps, key=lambda step: step[0]), (start + days(35), lambda: None)]:
        app.set_clock(when)
        action()
        if on_step is not None:
            on_step(app.state.now)
    return sorted(expected, key=lambda e: (e.customer, e.at))


def _refund_latest_charge(client: stripe.StripeClient, customer: str) -> None:
    charge = client.v1.charges.list({"customer": customer, "limit": 1}).data[0]
    client.v1.refunds.create({"charge": charge.id, "amount": charge.amount // 2, "reason": "requested_by_customer"})
