"""Subscription histories for the demo world: every lifecycle transition, with real Stripe events.

The bulk-loaded world has subscriptions but no event history. Here one free random account per
scenario of `demo_transitions` becomes a Stripe customer whose subscription moves through that
scenario (trial converted or cancelled, renewal, cancel/uncancel/expire, billing issue, plan
changes, refund, one-off purchase) over the 35 days before the world's "now", through the
emulator's API, so the Events API holds exactly what real Stripe would.

Run it on an emulator that holds the catalog but not yet the world's customers and
subscriptions, then load those: the histories finish the day before `world.as_of`.
"""

from __future__ import annotations

import stripe

from emulators.demo_transitions import SCENARIOS, Expected, TransitionPrices, run_transitions
from emulators.demo_world.stripe_world import price_id
from emulators.demo_world.world import DemoWorld
from emulators.stripe import StripeEmulator
from emulators.stripe.periods import days

HISTORY_DAYS = 36  # the scripted histories take 35 days; they end a day before the world's now
FLAT_YEARLY_PRICE = {
    # Starter billed yearly at twelve months (the catalog's yearly prices discount two months), so
    # moving to it changes the product's price without changing MRR: a product change, not a downgrade.
    "product": "prod_starter",
    "currency": "usd",
    "unit_amount": 18000,
    "recurring": {"interval": "year"},
    "metadata": {"seats": "true"},
    "nickname": "starter seat yearly usd, no annual discount",
}


def history_accounts(world: DemoWorld) -> list[tuple[str, str]]:
    """(account id, the email of its first user) for as many free random accounts as scenarios."""
    planted = {case.account_id for case in world.planted_cases}
    free = world.accounts[(world.accounts["plan"] == "free") & ~world.accounts["account_id"].isin(planted)]
    chosen = sorted(free["account_id"])[: len(SCENARIOS)]
    if len(chosen) < len(SCENARIOS):
        raise ValueError(f"the world has {len(chosen)} free accounts; lifecycle histories need {len(SCENARIOS)}")
    users = world.users_frame()
    first_users = users[users["account_id"].isin(chosen)].sort_values("user_id").drop_duplicates("account_id")
    emails = first_users.set_index("account_id")["email"]
    return [(account, emails[account]) for account in chosen]


def history_start(world: DemoWorld) -> int:
    """When the histories begin (epoch seconds): start the Stripe emulator's clock here."""
    return int(world.as_of.timestamp()) - days(HISTORY_DAYS)


def script_histories(app: StripeEmulator, client: stripe.StripeClient, world: DemoWorld) -> list[Expected]:
    """Drive every scenario on its own account; returns the lifecycle events each should yield."""
    start = history_start(world)
    app.set_clock(start)
    if app.state.now != start:  # the emulator's clock never runs backwards
        raise ValueError(f"the Stripe emulator's clock ({app.state.now}) is past the histories' start ({start})")
    customers = {}
    for scenario, (account, email) in zip(SCENARIOS, history_accounts(world), strict=False):
        customer = client.v1.customers.create({"email": email, "metadata": {"account_id": account}})
        customers[scenario] = customer.id
    yearly = client.v1.prices.create(FLAT_YEARLY_PRICE)  # type: ignore[arg-type]
    prices = TransitionPrices(
        monthly=price_id("starter", "month", "usd"), upgrade=price_id("pro", "month", "usd"), yearly=yearly.id
    )
    return run_transitions(app, client, customers, prices)
