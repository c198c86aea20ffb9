"""The demo world's Stripe side, built only with the emulator's object builders.

A fixed catalog (products per plan with `metadata.plan`, monthly and annual prices per currency,
per-seat prices flagged `metadata.seat = "true"`, graduated and volume tiers, coupons of every
duration), then per paying account one customer and one subscription from its billing spec.
Free accounts get nothing. Customers name their account in `metadata.account_id`, or only carry
the email of the account's first user, or (a few) match nothing at all; the planted customers
add the cases the sync must report rather than guess.

Subscription histories (trial conversions, cancellations, failed payments, plan changes as
`events`, invoices) are a separate step: they start from the same account spec rows and these
objects and add collections to the returned dict.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from emulators.demo_world.people import base_emails
from emulators.demo_world.planted import PlantedCustomer
from emulators.demo_world.world import DemoWorld
from emulators.stripe import objects
from emulators.stripe.periods import add_interval, days

StripeObject = dict[str, Any]
CATALOG_CREATED = 1_600_000_000  # 2020-09-13: the catalog predates every account
TRIAL_DAYS = 14

PAID_PLANS = ("starter", "pro", "enterprise")
# Monthly price per seat in minor units (jpy has none); a year costs ten months.
SEAT_PRICE = {
    "starter": {"usd": 1500, "eur": 1400, "gbp": 1200, "jpy": 2200},
    "pro": {"usd": 4000, "eur": 3700, "gbp": 3200, "jpy": 6000},
    "enterprise": {"usd": 6000, "eur": 5500, "gbp": 4800, "jpy": 9000},
}
PLATFORM_FEE = {"usd": 50000, "eur": 46000, "gbp": 40000, "jpy": 75000}  # enterprise, per month
ANNUAL_MONTHS = 10
AMOUNT_OFF = {"usd": 1000, "eur": 1000, "gbp": 800, "jpy": 1500}
_MIN_PERIOD_DAYS = {"day": 1, "week": 7, "month": 28, "year": 365}


@dataclass(frozen=True)
class Catalog:
    products: list[StripeObject]
    prices: dict[str, StripeObject]
    coupons: dict[str, StripeObject]


def price_id(plan: str, interval: str, currency: str, variant: str = "seat") -> str:
    return f"price_{plan}_{variant}_{interval}_{currency}"


def _price(plan: str, variant: str, interval: str, currency: str, **shape: Any) -> StripeObject:
    pid = price_id(plan, interval, currency, variant)
    return objects.price(
        pid,
        created=CATALOG_CREATED,
        product=f"prod_{plan}",
        currency=currency,
        interval=interval,
        metadata={} if variant == "platform" else {"seats": "true"},  # RevenueRules.seat_metadata_key
        nickname=f"{plan} {variant} {interval}ly {currency}",
        **shape,
    )


def _prices(interval: str, currency: str) -> list[StripeObject]:
    months = ANNUAL_MONTHS if interval == "year" else 1
    pro = SEAT_PRICE["pro"][currency] * months
    enterprise = SEAT_PRICE["enterprise"][currency] * months
    return [
        _price("starter", "seat", interval, currency, unit_amount=SEAT_PRICE["starter"][currency] * months),
        _price("pro", "seat", interval, currency, unit_amount=pro),
        # Seats beyond five at three quarters of the price.
        _price(
            "pro", "graduated", interval, currency, billing_scheme="tiered", tiers_mode="graduated",
            tiers=[objects.tier(5, unit_amount=pro), objects.tier(None, unit_amount=pro * 3 // 4)],
        ),
        # The whole team at the rate of its size band.
        _price(
            "enterprise", "seat", interval, currency, billing_scheme="tiered", tiers_mode="volume",
            tiers=[
                objects.tier(25, unit_amount=enterprise),
                objects.tier(100, unit_amount=enterprise * 85 // 100),
                objects.tier(None, unit_amount=enterprise * 7 // 10),
            ],
        ),
        _price("enterprise", "platform", interval, currency, unit_amount=PLATFORM_FEE[currency] * months),
    ]  # fmt: skip


def build_catalog() -> Catalog:
    created = CATALOG_CREATED
    products = [
        objects.product(f"prod_{plan}", created=created, name=plan.title(), metadata={"plan": plan})
        for plan in ("free", *PAID_PLANS)
    ]
    prices = {p["id"]: p for c in SEAT_PRICE["starter"] for i in ("month", "year") for p in _prices(i, c)}
    coupons = {
        "pct20_forever": objects.coupon("pct20_forever", created=created, percent_off=20.0, duration="forever"),
        "pct50_3mo": objects.coupon(
            "pct50_3mo", created=created, percent_off=50.0, duration="repeating", duration_in_months=3
        ),
    }
    for currency, amount in AMOUNT_OFF.items():
        for duration in ("once", "forever"):
            cid = f"off_{duration}_{currency}"
            coupons[cid] = objects.coupon(cid, created=created, amount_off=amount, currency=currency, duration=duration)
    return Catalog(products, prices, coupons)


def _epoch(value: np.datetime64) -> int:
    return int(np.datetime64(value, "s").astype(np.int64))


def _current_period(anchor: int, price: StripeObject, at: int) -> tuple[int, int]:
    """The billing period counted from `anchor` that contains `at`, on the emulator's boundaries."""
    interval, count = price["recurring"]["interval"], price["recurring"]["interval_count"]
    # Shortest periods overestimate how many have passed; step back to the last one started.
    n = max(0, (at - anchor) // days(_MIN_PERIOD_DAYS[interval] * count))
    while n > 0 and add_interval(anchor, interval, count, n) > at:
        n -= 1
    return add_interval(anchor, interval, count, n), add_interval(anchor, interval, count, n + 1)


def _items(account: Any, catalog: Catalog) -> list[tuple[StripeObject, int]]:
    """(price, quantity) per item of the account's subscription."""
    args = (account.interval, account.currency)
    if account.plan == "enterprise":
        return [(catalog.prices[price_id("enterprise", *args)], account.seats),
                (catalog.prices[price_id("enterprise", *args, "platform")], 1)]  # fmt: skip
    variant = "graduated" if account.plan == "pro" and account.price_variant == "tiered" else "seat"
    return [(catalog.prices[price_id(account.plan, *args, variant)], account.seats)]


def _coupon(account: Any, catalog: Catalog) -> StripeObject | None:
    if not account.coupon:
        return None
    kind = account.coupon
    return catalog.coupons[f"{kind}_{account.currency}" if kind.startswith("off_") else kind]


def subscription_objects(account: Any, customer_id: str, catalog: Catalog, now: int) -> list[tuple[str, StripeObject]]:
    """(collection, object) pairs for one account's subscription and its discount.

    `account` is a row of `DemoWorld.accounts`; its `status` decides the shape: a trial runs 14
    days from the start, a canceled subscription ended halfway between its start and `now`.
    """
    sub_id = f"sub_{account.account_id}"
    start = _epoch(account.billing_started_at)
    status = account.status
    trial = (start, start + days(TRIAL_DAYS)) if status == "trialing" else (None, None)
    ended_at = start + (now - start) // 2 if status == "canceled" else None

    items = []
    for position, (price, quantity) in enumerate(_items(account, catalog)):
        period = trial if trial[0] is not None else _current_period(start, price, ended_at or now)
        items.append(
            objects.subscription_item(
                f"si_{account.account_id}_{position}",
                subscription=sub_id,
                price=price,
                created=start,
                current_period_start=period[0],
                current_period_end=period[1],
                quantity=quantity,
            )
        )

    pairs: list[tuple[str, StripeObject]] = []
    coupon = _coupon(account, catalog)
    if coupon is not None:
        # A three-month coupon applied recently is still running; the others date from the start.
        applied = max(start, now - days(40)) if coupon["duration"] == "repeating" else start
        discount = objects.discount(
            f"di_{account.account_id}", coupon=coupon, start=applied, customer=customer_id, subscription=sub_id
        )
        pairs.append(("discounts", discount))

    cancel_at = min(i["current_period_end"] for i in items) if account.cancel_at_period_end else None
    subscription = objects.subscription(
        sub_id,
        customer=customer_id,
        items=items,
        created=start,
        status=status,
        currency=account.currency,
        trial_start=trial[0],
        trial_end=trial[1],
        cancel_at_period_end=bool(account.cancel_at_period_end),
        cancel_at=cancel_at,
        canceled_at=ended_at if ended_at is not None else (now - days(3) if cancel_at else None),
        ended_at=ended_at,
        cancellation_details={"reason": "cancellation_requested"} if ended_at or cancel_at else None,
        discounts=[pairs[0][1]["id"]] if pairs else [],
    )
    return [*pairs, ("subscriptions", subscription)]


def _customer(account: Any, email: str, trial_without_card: bool) -> StripeObject:
    match = account.customer_match
    return objects.customer(
        f"cus_{account.account_id}",
        created=_epoch(account.billing_started_at) - 60,
        email=email if match != "none" else f"billing@{account.account_id}.unmatched.example",
        name=account.name,
        metadata={"account_id": account.account_id} if match == "metadata" else {},
        default_payment_method=None if trial_without_card else "pm_card_visa",
        currency=account.currency,
    )


def _first_user_emails(world: DemoWorld) -> np.ndarray:
    """Per account, the email of its first user (for customers), planted ones included."""
    sizes = world.accounts["user_count"].to_numpy()[: -len(world.planted_cases)]
    first = np.cumsum(sizes) - sizes
    random_emails = base_emails(world.seed, first, np.arange(len(sizes))).astype(object)
    planted_emails = np.asarray([c.user_email.lower() for c in world.planted_cases], dtype=object)
    return np.concatenate([random_emails, planted_emails])


def account_objects(world: DemoWorld, catalog: Catalog, batch_accounts: int = 20_000) -> Iterator[dict[str, list]]:
    """Customers, discounts and subscriptions of paying accounts, in batches of accounts."""
    now = _epoch(np.datetime64(world.as_of.replace(tzinfo=None)))
    emails = _first_user_emails(world)
    paying = np.flatnonzero(world.accounts["plan"].to_numpy() != "free")
    for lo in range(0, len(paying), batch_accounts):
        batch: dict[str, list[StripeObject]] = {"customers": [], "discounts": [], "subscriptions": []}
        rows = world.accounts.iloc[paying[lo : lo + batch_accounts]]
        for position, account in zip(paying[lo : lo + batch_accounts], rows.itertuples(index=False), strict=True):
            customer = _customer(account, emails[position], account.status == "trialing" and position % 2 == 1)
            batch["customers"].append(customer)
            for collection, obj in subscription_objects(account, customer["id"], catalog, now):
                batch[collection].append(obj)
        yield batch


def planted_customer_objects(world: DemoWorld, catalog: Catalog) -> dict[str, list]:
    """The customers no account may claim, each paying for a small starter subscription."""
    now = _epoch(np.datetime64(world.as_of.replace(tzinfo=None)))
    started = np.datetime64(world.as_of.replace(tzinfo=None), "s") - np.timedelta64(90, "D")
    out: dict[str, list[StripeObject]] = {"customers": [], "subscriptions": []}
    for case in world.planted_customers:
        spec = _stray_account(case, started)
        customer = objects.customer(
            f"cus_{spec.account_id}",
            created=_epoch(started) - 60,
            email=case.email,
            name=f"Stray {case.key}",
            metadata={"account_id": case.metadata_account_id} if case.metadata_account_id else {},
            default_payment_method="pm_card_visa",
            currency="usd",
        )
        out["customers"].append(customer)
        out["subscriptions"] += [obj for _, obj in subscription_objects(spec, customer["id"], catalog, now)]
    return out


def _stray_account(case: PlantedCustomer, started: np.datetime64) -> SimpleNamespace:
    """A billing spec row for a customer outside the warehouse (same fields as `DemoWorld.accounts`)."""
    return SimpleNamespace(
        account_id=f"planted_{case.key}", plan="starter", currency="usd", interval="month", seats=2,
        price_variant="standard", status="active", cancel_at_period_end=False, coupon="", billing_started_at=started,
    )  # fmt: skip


def catalog_objects(catalog: Catalog) -> dict[str, list[StripeObject]]:
    return {
        "products": catalog.products,
        "prices": list(catalog.prices.values()),
        "coupons": list(catalog.coupons.values()),
    }


def stripe_objects(world: DemoWorld) -> dict[str, list[StripeObject]]:
    """Everything for the emulator's bulk load, by collection (references before referrers)."""
    catalog = build_catalog()
    result = {**catalog_objects(catalog), "customers": [], "discounts": [], "subscriptions": []}
    for batch in [*account_objects(world, catalog), planted_customer_objects(world, catalog)]:
        for collection, rows in batch.items():
            result[collection] += rows
    return result
