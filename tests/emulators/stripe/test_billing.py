"""The billing simulation, driven by the emulator clock and observed through /v1/events."""

from __future__ import annotations

from typing import Any

import httpx
import stripe

from emulators.http import EmulatorServer
from emulators.stripe import StripeEmulator
from tests.fixtures.stripe_emulator import STRIPE_EPOCH, STRIPE_TEST_KEY

DAY = 86_400


def _events(client: stripe.StripeClient, **params: Any) -> list[dict[str, Any]]:
    listed = client.v1.events.list({"limit": 100, **params}).auto_paging_iter()
    return [e.to_dict() for e in reversed(list(listed))]


def _subscribe(client: stripe.StripeClient, customer: str, price: str, **params: Any) -> stripe.Subscription:
    return client.v1.subscriptions.create({"customer": customer, "items": [{"price": price}], **params})


def test_trial_end_converts_with_invoice_paid(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    sub = _subscribe(stripe_client, stripe_catalog["customer"], stripe_catalog["monthly"], trial_period_days=14)
    stripe_app.advance(14 * DAY)
    types = [(e["type"], e["created"]) for e in _events(stripe_client, created={"gt": STRIPE_EPOCH})]
    assert types == [
        ("customer.subscription.trial_will_end", STRIPE_EPOCH + 11 * DAY),
        ("invoice.paid", STRIPE_EPOCH + 14 * DAY),
        ("customer.subscription.updated", STRIPE_EPOCH + 14 * DAY),
    ]
    update = _events(stripe_client, type="customer.subscription.updated")[0]["data"]
    assert update["previous_attributes"]["status"] == "trialing" and update["object"]["status"] == "active"
    invoice = _events(stripe_client, type="invoice.paid")[-1]["data"]["object"]
    assert invoice["billing_reason"] == "subscription_cycle" and invoice["amount_paid"] == 1000
    item = stripe_client.v1.subscriptions.retrieve(sub.id)["items"].data[0]
    assert item.current_period_start == STRIPE_EPOCH + 14 * DAY
    assert item.current_period_end == 1771113600  # 2026-01-15 + 1 month = 2026-02-15


def test_trial_without_payment_method_pauses_and_resume_bills(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    customer = stripe_client.v1.customers.create({"email": "nocard@example.com"})
    sub = _subscribe(
        stripe_client,
        customer.id,
        stripe_catalog["monthly"],
        trial_period_days=7,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    stripe_app.advance(8 * DAY)
    paused = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert paused.status == "paused"
    assert paused.status_details.paused.type == "trial_end_without_payment_method"
    assert _events(stripe_client, type="customer.subscription.paused")[0]["created"] == STRIPE_EPOCH + 7 * DAY
    stripe_client.v1.subscriptions.resume(sub.id)
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert len(_events(stripe_client, type="customer.subscription.resumed")) == 1


def test_renewals_emit_subscription_cycle_and_advance_periods(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    sub = _subscribe(stripe_client, stripe_catalog["customer"], stripe_catalog["monthly"])
    stripe_app.advance(365 * DAY)
    invoices = reversed(list(stripe_client.v1.invoices.list({"subscription": sub.id}).auto_paging_iter()))
    cycles = [(i.billing_reason, i.created, i.amount_paid) for i in invoices]
    assert [reason for reason, _, _ in cycles] == ["subscription_create"] + ["subscription_cycle"] * 12
    assert cycles[1][1:] == (1769904000, 1000)  # 2026-02-01
    item = stripe_client.v1.subscriptions.retrieve(sub.id)["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (1798761600, 1801440000)  # 2027-01-01 → 02-01
    recent = _events(stripe_client, type="customer.subscription.updated")  # 30 days of retention: the last one
    assert len(recent) == 1
    assert recent[0]["data"]["previous_attributes"]["items"]["data"][0]["current_period_end"] == 1798761600


def test_failed_payment_goes_past_due_once_then_cancels_after_retries(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    sub = _subscribe(stripe_client, stripe_catalog["customer"], stripe_catalog["monthly"])
    stripe_app.set_payments_failing(stripe_catalog["customer"])
    stripe_app.advance(31 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    stripe_app.advance(20 * DAY)  # retries after 3, 5 and 7 days, then the final action
    failures = [e["data"]["object"] for e in _events(stripe_client, type="invoice.payment_failed")]
    assert [f["attempt_count"] for f in failures] == [1, 2, 3, 4]
    assert len({f["id"] for f in failures}) == 1
    statuses = [
        (e["data"]["previous_attributes"].get("status"), e["data"]["object"]["status"])
        for e in _events(stripe_client, type="customer.subscription.updated")
    ]
    assert statuses == [("active", "past_due")]  # the billing issue is reported once
    deleted = _events(stripe_client, type="customer.subscription.deleted")[0]["data"]["object"]
    assert deleted["cancellation_details"]["reason"] == "payment_failed"


def test_recovered_payment_returns_to_active_and_unpaid_setting(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    stripe_app.configure(final_action="unpaid", retry_schedule_days=[2])
    sub = _subscribe(stripe_client, stripe_catalog["customer"], stripe_catalog["monthly"])
    stripe_app.set_payments_failing(stripe_catalog["customer"])
    stripe_app.advance(34 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "unpaid"

    other = stripe_client.v1.customers.create({"payment_method": "pm_card_visa"})
    recovering = _subscribe(stripe_client, other.id, stripe_catalog["monthly"])
    stripe_app.set_payments_failing(other.id)
    stripe_app.set_clock(recovering["items"].data[0].current_period_end)
    assert stripe_client.v1.subscriptions.retrieve(recovering.id).status == "past_due"
    stripe_app.set_payments_failing(other.id, failing=False)
    stripe_app.advance(2 * DAY)
    assert stripe_client.v1.subscriptions.retrieve(recovering.id).status == "active"
    last = stripe_client.v1.invoices.list({"subscription": recovering.id, "limit": 1}).data[0]
    assert last.status == "paid" and last.attempt_count == 2


def test_failed_first_payment_is_incomplete_then_expires(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    stripe_app.set_payments_failing(stripe_catalog["customer"])
    sub = _subscribe(stripe_client, stripe_catalog["customer"], stripe_catalog["monthly"])
    assert sub.status == "incomplete"
    stripe_app.advance(DAY)
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "incomplete_expired"


def test_cancel_at_period_end_cancels_at_the_period_end(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    sub = _subscribe(stripe_client, stripe_catalog["customer"], stripe_catalog["monthly"])
    stripe_app.advance(DAY)
    stripe_client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    stripe_app.advance(60 * DAY)
    deleted = _events(stripe_client, type="customer.subscription.deleted")
    assert len(deleted) == 1
    ended = deleted[0]["data"]["object"]
    assert ended["ended_at"] == deleted[0]["created"] == 1769904000  # the period end, 2026-02-01
    assert ended["canceled_at"] == STRIPE_EPOCH + DAY  # when it was requested
    assert len(stripe_client.v1.invoices.list({"subscription": sub.id}).data) == 1  # no renewal


def test_one_off_purchase_is_a_manual_invoice_without_subscription(
    stripe_emulator: EmulatorServer, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    response = httpx.post(
        f"{stripe_emulator.url}/_emulator/purchases",
        json={"customer": stripe_catalog["customer"], "amount": 4900, "currency": "usd", "description": "Pack"},
    )
    assert response.status_code == 200
    invoice = _events(stripe_client, type="invoice.paid")[0]["data"]["object"]
    assert invoice["billing_reason"] == "manual" and invoice["parent"] is None and invoice["amount_paid"] == 4900


def test_clock_and_payment_controls_over_http(stripe_emulator: EmulatorServer, stripe_catalog: dict[str, str]) -> None:
    url = stripe_emulator.url
    client = stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": url})
    _subscribe(client, stripe_catalog["customer"], stripe_catalog["monthly"])
    assert httpx.post(
        f"{url}/_emulator/customers/{stripe_catalog['customer']}/payments", json={"fail": True}
    ).is_success
    moved = httpx.post(f"{url}/_emulator/clock", json={"advance_seconds": 31 * DAY, "event_api_version": "2024-06-20"})
    assert moved.json() == {"now": STRIPE_EPOCH + 31 * DAY}
    failed = _events(client, type="invoice.payment_failed")[0]
    assert failed["api_version"] == "2024-06-20" and failed["data"]["object"]["subscription"]
    assert httpx.get(f"{url}/_emulator/clock").json()["now"] == STRIPE_EPOCH + 31 * DAY
