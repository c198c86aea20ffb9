"""A deterministic demo world: accounts, users and usage in a warehouse, their billing in Stripe.

    world = build_world(100_000, seed=7, as_of=datetime(2025, 3, 1, tzinfo=UTC))
    write_warehouse(world, "sqlite:///data/warehouse.db")
    payload = stripe_objects(world)  # {"customers": [...], "subscriptions": [...], ...}

The same (users, seed, as_of) always gives the same world. Modules, one job each:
`randomness` (seeded per-chunk streams), `accounts` (accounts and their billing spec), `people`
(users), `usage` (events), `planted` (segment and matching boundary cases), `world` (streaming),
`warehouse_writer`, `stripe_world` (objects via the Stripe emulator's builders), `__main__` (CLI).

Extension point for subscription histories: a history module reads `world.accounts` (one billing
spec row per account: plan, status, start, trial, coupon, ...) and the objects from
`stripe_world`, and returns extra collections (`events`, `invoices`, ...) to merge into the load.
"""

from emulators.demo_world.planted import PlantedCase, PlantedCustomer
from emulators.demo_world.stripe_world import stripe_objects
from emulators.demo_world.warehouse_writer import WriteSummary, write_warehouse
from emulators.demo_world.world import DemoWorld, WorldChunk, build_world

__all__ = [
    "DemoWorld",
    "PlantedCase",
    "PlantedCustomer",
    "WorldChunk",
    "WriteSummary",
    "build_world",
    "stripe_objects",
    "write_warehouse",
]
