"""List endpoints over HTTP with the official SDK: cursors, filters, limits, expand, tiers."""

from __future__ import annotations

import httpx
import pytest
import stripe

from emulators.http import EmulatorServer
from emulators.stripe import objects
from tests.fixtures.stripe_emulator import STRIPE_EPOCH, STRIPE_TEST_KEY

STATUSES = ["active", "trialing", "canceled", "past_due", "unpaid", "paused", "active"]


def _world(n: int) -> dict[str, list[dict]]:
    """`n` subscriptions, one per second (two share each even second to exercise the id tie-break)."""
    product = objects.product("prod_A", created=STRIPE_EPOCH - 100, name="Pro")
    price = objects.price("price_A", created=STRIPE_EPOCH - 100, product="prod_A", unit_amount=1000)
    tiered = objects.price(
        "price_T",
        created=STRIPE_EPOCH - 99,
        product="prod_A",
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[objects.tier(5, unit_amount=1000), objects.tier(None, unit_amount=500, flat_amount=2000)],
    )
    customers, subs = [], []
    for i in range(n):
        created = STRIPE_EPOCH - 10_000 + (i // 2) * 2
        cus = objects.customer(f"cus_{i:04d}", created=created, email=f"u{i}@example.com")
        item = objects.subscription_item(
            f"si_{i:04d}",
            subscription=f"sub_{i:04d}",
            price=tiered if i % 5 == 0 else price,
            created=created,
            current_period_start=created,
            current_period_end=created + 30 * 86_400,
            quantity=i % 7 + 1,
        )
        subs.append(
            objects.subscription(
                f"sub_{i:04d}",
                customer=cus["id"],
                items=[item],
                created=created,
                status=STATUSES[i % len(STATUSES)],
                trial_end=created + 30 * 86_400 if STATUSES[i % len(STATUSES)] == "trialing" else None,
            )
        )
        customers.append(cus)
    return {"products": [product], "prices": [price, tiered], "customers": customers, "subscriptions": subs}


@pytest.fixture
def world(stripe_emulator: EmulatorServer) -> dict[str, list[dict]]:
    data = _world(30)
    stripe_emulator.app.load(data)
    return data


def _newest_first(subs: list[dict]) -> list[str]:
    return [s["id"] for s in sorted(subs, key=lambda s: (s["created"], s["id"]), reverse=True)]


def test_auto_paging_walks_every_subscription_newest_first_across_pages(
    stripe_emulator: EmulatorServer, stripe_client: stripe.StripeClient, world: dict
) -> None:
    before = stripe_emulator.app.counters["route:GET GET /v1/subscriptions"]
    ids = [s.id for s in stripe_client.v1.subscriptions.list({"status": "all", "limit": 7}).auto_paging_iter()]
    assert ids == _newest_first(world["subscriptions"])
    assert stripe_emulator.app.counters["route:GET GET /v1/subscriptions"] - before == 5  # 7+7+7+7+2


def test_starting_after_and_ending_before_are_inverse_cursors(stripe_client: stripe.StripeClient, world: dict) -> None:
    expected = _newest_first(world["subscriptions"])
    first = stripe_client.v1.subscriptions.list({"status": "all", "limit": 4})
    assert [s.id for s in first.data] == expected[:4] and first.has_more
    second = stripe_client.v1.subscriptions.list({"status": "all", "limit": 4, "starting_after": first.data[-1].id})
    assert [s.id for s in second.data] == expected[4:8]
    back = stripe_client.v1.subscriptions.list({"status": "all", "limit": 4, "ending_before": second.data[0].id})
    assert [s.id for s in back.data] == expected[:4] and not back.has_more
    last = stripe_client.v1.subscriptions.list({"status": "all", "limit": 100, "starting_after": expected[-3]})
    assert [s.id for s in last.data] == expected[-2:] and not last.has_more


def test_backwards_auto_paging_yields_oldest_to_newest(stripe_client: stripe.StripeClient, world: dict) -> None:
    expected = _newest_first(world["subscriptions"])
    page = stripe_client.v1.subscriptions.list({"status": "all", "limit": 3, "ending_before": expected[-1]})
    assert [s.id for s in page.auto_paging_iter()] == list(reversed(expected[:-1]))


@pytest.mark.parametrize("limit", [0, 101, "ten"])
def test_limit_out_of_bounds_is_a_400_naming_limit(stripe_client: stripe.StripeClient, limit: object) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.customers.list({"limit": limit})  # type: ignore[typeddict-item]
    assert info.value.http_status == 400 and info.value.param == "limit"


def test_unknown_cursor_is_a_400_like_stripe(stripe_client: stripe.StripeClient, world: dict) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.subscriptions.list({"starting_after": "sub_missing"})
    assert info.value.http_status == 400
    assert info.value.code == "resource_missing" and info.value.param == "starting_after"


def test_status_filter_default_all_and_single(stripe_client: stripe.StripeClient, world: dict) -> None:
    subs = world["subscriptions"]

    def ids(params: dict) -> set[str]:
        return {s.id for s in stripe_client.v1.subscriptions.list({**params, "limit": 100}).auto_paging_iter()}

    assert ids({}) == {s["id"] for s in subs if s["status"] != "canceled"}
    assert ids({"status": "all"}) == {s["id"] for s in subs}
    assert ids({"status": "past_due"}) == {s["id"] for s in subs if s["status"] == "past_due"}
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.list({"status": "nope"})  # type: ignore[typeddict-item]


def test_customer_price_and_created_filters(stripe_client: stripe.StripeClient, world: dict) -> None:
    by_customer = stripe_client.v1.subscriptions.list({"customer": "cus_0003", "status": "all"})
    assert [s.id for s in by_customer.data] == ["sub_0003"]
    tiered = stripe_client.v1.subscriptions.list({"price": "price_T", "status": "all", "limit": 100})
    assert {s.id for s in tiered.data} == {f"sub_{i:04d}" for i in range(0, 30, 5)}
    start = STRIPE_EPOCH - 10_000
    window = stripe_client.v1.customers.list({"created": {"gte": start + 4, "lt": start + 8}, "limit": 100})
    assert sorted(c.id for c in window.data) == ["cus_0004", "cus_0005", "cus_0006", "cus_0007"]
    exact = stripe_client.v1.customers.list({"created": start + 2})
    assert sorted(c.id for c in exact.data) == ["cus_0002", "cus_0003"]
    strict = stripe_client.v1.customers.list({"created": {"gt": start + 2, "lte": start + 4}})
    assert sorted(c.id for c in strict.data) == ["cus_0004", "cus_0005"]


def test_five_level_expand_is_rejected_through_the_sdk(stripe_client: stripe.StripeClient, world: dict) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.subscriptions.list({"expand": ["data.items.data.price.tiers"]})
    assert info.value.http_status == 400
    assert "You cannot expand more than 4 levels of a property" in str(info.value.user_message)
    assert info.value.json_body["error"]["type"] == "invalid_request_error"


def test_unexpandable_path_is_rejected(stripe_client: stripe.StripeClient, world: dict) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.subscriptions.list({"expand": ["data.status"]})
    assert info.value.user_message == "This property cannot be expanded (data.status)"


def test_four_level_expands_succeed(stripe_client: stripe.StripeClient, world: dict) -> None:
    coupon = stripe_client.v1.coupons.create({"percent_off": 25, "duration": "forever"})
    discount_id = stripe_client.v1.subscriptions.update(
        "sub_0001", {"discounts": [{"coupon": coupon.id}], "items": [{"id": "si_0001", "discounts": []}]}
    ).discounts[0]
    page = stripe_client.v1.subscriptions.list(
        {
            "customer": "cus_0001",
            "expand": [
                "data.customer",
                "data.discounts.source.coupon",
                "data.items.data.discounts",
                "data.latest_invoice",
            ],
        }
    )
    sub = page.data[0]
    assert sub.customer.email == "u1@example.com"
    assert sub.discounts[0].id == discount_id and sub.discounts[0].source.coupon.percent_off == 25
    unexpanded = stripe_client.v1.subscriptions.retrieve("sub_0001")
    assert unexpanded.discounts == [discount_id] and unexpanded.customer == "cus_0001"


def test_tiers_appear_only_when_expanded(stripe_client: stripe.StripeClient, world: dict) -> None:
    plain = stripe_client.v1.prices.list({"product": "prod_A"})
    assert {p.id for p in plain.data} == {"price_A", "price_T"}
    assert all("tiers" not in p.to_dict() for p in plain.data)
    expanded = {p.id: p for p in stripe_client.v1.prices.list({"expand": ["data.tiers"]}).data}
    assert [t.up_to for t in expanded["price_T"].tiers] == [5, None]
    assert expanded["price_T"].tiers[1].flat_amount == 2000
    assert stripe_client.v1.prices.retrieve("price_T", {"expand": ["tiers"]}).tiers[0].unit_amount == 1000
    sub = stripe_client.v1.subscriptions.retrieve("sub_0000", {"expand": ["items.data.price.tiers"]})
    assert len(sub["items"].data[0].price.tiers) == 2
    assert "tiers" not in stripe_client.v1.subscriptions.retrieve("sub_0000")["items"].data[0].price.to_dict()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/subscriptions", {"statuss": "all"}),  # a typo of status would silently drop canceled ones
        ("/v1/events", {"foo": "bar"}),
        ("/v1/prices", {"expands[0]": "data.tiers"}),
        ("/v1/customers/cus_x", {"limit": "3"}),
    ],
)
def test_unknown_parameters_are_refused_like_stripe(stripe_emulator, path, params):
    response = httpx.get(
        stripe_emulator.url + path, params=params, headers={"Authorization": f"Bearer {STRIPE_TEST_KEY}"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Received unknown parameter: ")
    assert error["param"] == error["message"].removeprefix("Received unknown parameter: ")
