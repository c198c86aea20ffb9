"""State: snapshots and the --state-file round trip, bulk loads at scale, and response shapes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import stripe

from emulators.http import Request
from emulators.stripe import StripeEmulator, objects
from tests.fixtures.reference import reference_file
from tests.fixtures.stripe_emulator import STRIPE_EPOCH, STRIPE_TEST_KEY

REPO = Path(__file__).resolve().parents[3]
# Real fields the fixture file cannot show, each with why: (kind, path) → reason.
NOT_IN_FIXTURE = {
    ("subscription", "status_details"): "added in 2026-09-30.endive, after the dahlia-era fixture (reference §1.1)",
    ("event", "data.object"): "polymorphic: the fixture's event is about a plan",
    ("event", "data.previous_attributes"): "only on update events; the fixture's is a created event",
    ("invoice_payment", "payment"): "polymorphic: the fixture shows only `type`, not the payment it names",
}


def _start_cli(state_file: Path) -> tuple[subprocess.Popen[str], str]:
    command = ["-m", "emulators", "stripe", "--port", "0", "--state-file", str(state_file)]
    process = subprocess.Popen(
        [sys.executable, *command, "--now", str(STRIPE_EPOCH)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on" in line, line
    return process, line.rsplit(" ", 1)[-1].strip()


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_state_file_round_trip_through_the_command_line(tmp_path: Path) -> None:
    state_file = tmp_path / "stripe.json"
    process, url = _start_cli(state_file)
    try:
        client = stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": url})
        customer = client.v1.customers.create({"email": "kept@example.com"})
    finally:
        _stop(process)
    saved = json.loads(state_file.read_text())
    assert [c["id"] for c in saved["objects"]["customers"]] == [customer.id]

    process, url = _start_cli(state_file)
    try:
        client = stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": url})
        assert client.v1.customers.retrieve(customer.id).email == "kept@example.com"
        assert client.v1.customers.create({}).id != customer.id  # id sequence survives
        assert [e.type for e in client.v1.events.list().data] == ["customer.created", "customer.created"]
    finally:
        _stop(process)


def test_snapshot_restores_billing_state(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    sub = stripe_client.v1.subscriptions.create(
        {
            "customer": stripe_catalog["customer"],
            "items": [{"price": stripe_catalog["monthly"]}],
            "trial_period_days": 10,
        }
    )
    stripe_app.set_payments_failing(stripe_catalog["customer"])
    snapshot = json.loads(json.dumps(stripe_app.state_snapshot()))
    restored = StripeEmulator(now=0)
    restored.restore_state(snapshot)
    assert restored.state_snapshot() == snapshot
    restored.advance(10 * 86_400)
    assert restored.state.fetch("subscription", sub.id)["status"] == "past_due"  # type: ignore[index]


def _big_world(n: int) -> dict[str, list[dict[str, Any]]]:
    price = objects.price("price_big", created=0, product="prod_big", unit_amount=500)
    start = STRIPE_EPOCH - n
    subs = []
    for i in range(n):
        sub_id = f"sub_{i:08d}"
        item = objects.subscription_item(
            f"si_{i:08d}", subscription=sub_id, price=price, created=start + i,
            current_period_start=start + i, current_period_end=start + i + 2_592_000,
        )  # fmt: skip
        subs.append(objects.subscription(sub_id, customer=f"cus_{i % 1000:04d}", items=[item], created=start + i))
    return {"prices": [price], "subscriptions": subs}


def _page(app: StripeEmulator, starting_after: str) -> list[str]:
    """One page of 100 straight from the app (the SDK's parsing adds nothing here)."""
    request = Request("GET", "/v1/subscriptions", [("limit", "100"), ("starting_after", starting_after)], {}, b"")
    request.headers["authorization"] = f"Bearer {STRIPE_TEST_KEY}"
    response = app.dispatch(request)
    assert response.status == 200
    return [s["id"] for s in response.body["data"]]


def test_a_bulk_loaded_world_pages_correctly(stripe_app: StripeEmulator, stripe_client: stripe.StripeClient) -> None:
    """Timings live in the benchmarks; this checks what the bulk path must get right."""
    world = _big_world(20_000)
    assert stripe_app.load(world) == {name: len(world.get(name, [])) for name in stripe_app.state.collections}
    assert _page(stripe_app, "sub_00000200") == [f"sub_{i:08d}" for i in range(199, 99, -1)]
    assert _page(stripe_app, "sub_00000050") == [f"sub_{i:08d}" for i in range(49, -1, -1)]
    page = stripe_client.v1.subscriptions.list({"limit": 2, "starting_after": "sub_00010000"})
    assert [s.id for s in page.data] == ["sub_00009999", "sub_00009998"] and page.has_more
    by_customer = stripe_client.v1.subscriptions.list({"customer": "cus_0007", "limit": 3})
    assert [s.id for s in by_customer.data] == ["sub_00019007", "sub_00018007", "sub_00017007"]


def _fixture_resources() -> dict[str, Any]:
    return json.loads(reference_file("stripe-fixtures3.json").read_text())["resources"]


def _extra_keys(kind: str, ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Keys in `ours` that the fixture lacks, recursing where both sides are objects."""
    if not isinstance(ours, dict) or not isinstance(theirs, dict) or not theirs:
        return []
    extra = []
    for key, value in ours.items():
        if (kind, path + key) in NOT_IN_FIXTURE:
            continue
        if key not in theirs:
            extra.append(path + key)
        elif isinstance(value, list) and isinstance(theirs[key], list) and value and theirs[key]:
            extra += _extra_keys(kind, value[0], theirs[key][0], f"{path}{key}[].")
        else:
            extra += _extra_keys(kind, value, theirs[key], f"{path}{key}.")
    return extra


def test_every_returned_object_only_has_keys_stripe_has(
    stripe_app: StripeEmulator, stripe_client: stripe.StripeClient, stripe_catalog: dict[str, str]
) -> None:
    fixtures = _fixture_resources()
    coupon = stripe_client.v1.coupons.create({"percent_off": 10, "duration": "forever"})
    sub = stripe_client.v1.subscriptions.create(
        {
            "customer": stripe_catalog["customer"],
            "items": [{"price": stripe_catalog["monthly"]}],
            "discounts": [{"coupon": coupon.id}],
        }
    )
    stripe_app.set_payments_failing(stripe_catalog["customer"])
    stripe_app.advance(40 * 86_400)
    charge = stripe_client.v1.charges.list().data[0]
    returned = {
        "customer": stripe_client.v1.customers.retrieve(stripe_catalog["customer"]),
        "product": stripe_client.v1.products.retrieve(stripe_catalog["product"]),
        "price": stripe_client.v1.prices.retrieve(stripe_catalog["monthly"]),
        "coupon": coupon,
        "discount": stripe_client.v1.subscriptions.retrieve(sub.id, {"expand": ["discounts"]}).discounts[0],
        "subscription": stripe_client.v1.subscriptions.retrieve(sub.id),
        "subscription_item": stripe_client.v1.subscriptions.retrieve(sub.id)["items"].data[0],
        "invoice": stripe_client.v1.invoices.list({"status": "open"}).data[0],
        "charge": charge,
        "invoice_payment": stripe_client.v1.invoice_payments.list().data[0],
        "refund": stripe_client.v1.refunds.create({"charge": charge.id}),
        "event": stripe_client.v1.events.list().data[0],
    }
    extra = {kind: _extra_keys(kind, obj.to_dict(), fixtures[kind]) for kind, obj in returned.items()}
    assert {kind: keys for kind, keys in extra.items() if keys} == {}
