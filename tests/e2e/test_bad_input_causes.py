"""One test per bad input of issue 12, each on its own, through the real nightly_sync on the emulators.

Each case spoils one record of the same demo world in one way. The run must succeed, report that
record in `sync_errors` (model, key, field, code, and the raw value in the message), leave it out of
Intercom, and push every other contact and company. Comparing one `Outcome` shows all of it at
once when a case fails. tests/e2e/test_bad_rows.py spoils several rows at once (both databases).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from resources.check_settings import CheckSettings
from resources.state.store import StateStore
from tests.e2e.harness import STRIPE_KEY, SyncWorld, sync_world

pytestmark = pytest.mark.slow

StripeObjects = dict[str, list[dict[str, Any]]]
ErrorRow = tuple[str, str, str, str, str]  # model, record_key, field, code, message
PLANTED = "cus_planted_"  # the demo world's unmatched customers, reported in every run
# The world has 25 Stripe customers and subscriptions: its 4 planted unmatched customers are 16 %
# and one bad subscription is 4 %, more than a real deployment's defaults allow.
CHECKS = CheckSettings(max_unmatched_customer_percent=20, max_unreadable_subscription_percent=5)


def extra_users(*selects: str) -> list[str]:
    """`users` becomes a view (as a warehouse's often is) with more rows: each select's, from users_base."""
    return [
        "ALTER TABLE users RENAME TO users_base",
        "CREATE VIEW users AS " + " UNION ALL ".join(["SELECT * FROM users_base", *selects]),
    ]


def seats(subscription: str, quantity: int) -> Callable[[StripeObjects], None]:
    def edit(objects: StripeObjects) -> None:
        [found] = [s for s in objects["subscriptions"] if s["id"] == subscription]
        found["items"]["data"][0]["quantity"] = quantity

    return edit


def delete_customer(customer: str) -> Callable[[str], None]:
    def call(stripe_url: str) -> None:
        httpx.delete(f"{stripe_url}/v1/customers/{customer}", auth=(STRIPE_KEY, "")).raise_for_status()

    return call


@dataclass(frozen=True)
class Cause:
    name: str
    errors: list[ErrorRow]
    warehouse_sql: list[str]
    edit_stripe: Callable[[StripeObjects], None] | None = None
    in_stripe: Callable[[str], None] | None = None  # an API call to the running Stripe emulator
    left_out_users: tuple[str, ...] = ()
    held_back_accounts: tuple[str, ...] = ()  # company and every member left out (incomplete revenue)


CAUSES = [
    Cause(
        "NULL user_id",
        # A real-looking user without a key: it cannot be pushed under any external_id.
        [("users", "row 1", "user_id", "missing_key", "users row 1: user_id is missing; raw value NULL")],
        extra_users("SELECT NULL, 'a0000002', 'kim.keyless@team2.example', 'Kim Keyless', '2026-01-01 00:00:00'"),
    ),
    Cause(
        "duplicate user_id",
        [
            (
                "users",
                "u00000005",
                "user_id",
                "duplicate_key",
                "users u00000005: user_id appears more than once; none of these rows is synced (2 rows); "
                "raw value 'u00000005'",
            )
        ]
        * 2,
        extra_users(
            "SELECT user_id, account_id, 'olga.other@team1.example', name, created_at FROM users_base "
            "WHERE user_id = 'u00000005'"
        ),
        left_out_users=("u00000005",),
    ),
    Cause(
        "future signup",
        [
            (
                "users",
                "u00000003",
                "created_at",
                "future_date",
                "users u00000003: created_at is in the future (now is 2026-11-20T12:00:00+00:00); "
                "raw value '2027-06-01 00:00:00'",
            )
        ],
        ["UPDATE users SET created_at = '2027-06-01 00:00:00' WHERE user_id = 'u00000003'"],
        left_out_users=("u00000003",),
    ),
    Cause(
        "unparseable usage occurred_at",
        # The event cannot be counted; its user still syncs (SQLite keeps text in a timestamp column).
        [
            (
                "usage_events",
                "u00000009",
                "occurred_at",
                "unparseable_date",
                "usage_events u00000009: occurred_at is not an ISO-8601 timestamp (event dashboard_shared); "
                "raw value 'yesterday'",
            )
        ],
        ["UPDATE usage_events SET occurred_at = 'yesterday' WHERE user_id = 'u00000009'"],
    ),
    Cause(
        "10^12 seats",
        [
            (
                "subscription",
                "sub_a0000004",
                "items.data[0].quantity",
                "invalid_record",
                "subscription sub_a0000004: items.data[0].quantity is impossible (allowed 0 to 10,000,000); "
                "raw value 1000000000000",
            )
        ],
        [],
        edit_stripe=seats("sub_a0000004", 10**12),
        held_back_accounts=("a0000004",),
    ),
    Cause(
        "deleted Stripe customer",
        # Its subscription is still live (the emulator leaves it; Stripe would cancel it). Stripe
        # keeps no email or metadata of a deleted customer, so its account is synced without it.
        [
            (
                "customer",
                "cus_a0000007",
                "deleted",
                "deleted",
                "customer cus_a0000007: deleted was deleted in Stripe; raw value True",
            ),
            (
                "subscription",
                "sub_a0000007",
                "customer",
                "invalid_record",
                "subscription sub_a0000007: customer was deleted in Stripe; raw value 'cus_a0000007'",
            ),
        ],
        [],
        in_stripe=delete_customer("cus_a0000007"),
    ),
]


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    errors: list[ErrorRow]  # the run's sync_errors, less the world's planted customers
    contacts_not_pushed: list[str]  # warehouse users without an Intercom contact
    companies_not_pushed: list[str]  # warehouse accounts without an Intercom company
    contacts_of_no_user: int  # Intercom contacts that are no warehouse user (e.g. a keyless row's)


def _run(env: SyncWorld, warehouse_url: str, cause: Cause) -> Outcome:
    env.overrides["checks"] = CHECKS
    if cause.in_stripe is not None:
        cause.in_stripe(env.stripe.url)
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as conn:
        for statement in cause.warehouse_sql:
            conn.execute(sa.text(statement))
    engine.dispose()
    result = env.run()
    errors = [
        (e["model"], e["record_key"], e["field"], e["code"], e["message"])
        for e in StateStore(warehouse_url).errors_for_run(result.run_id)
        if not e["record_key"].startswith(PLANTED)
    ]
    users = set(env.world.users_frame()["user_id"])
    accounts = set(env.world.accounts["account_id"])
    contacts = set(env.intercom_app.contacts_by_external_id())
    return Outcome(
        result.success,
        sorted(errors),
        sorted(users - contacts),
        sorted(accounts - set(env.intercom_app.companies_by_company_id())),
        env.intercom_app.stats()["contacts"] - len(contacts & users),
    )


@pytest.mark.parametrize("cause", CAUSES, ids=[c.name for c in CAUSES])
def test_a_bad_input_is_reported_left_out_and_the_rest_syncs(cause: Cause, sqlite_url: str) -> None:
    with sync_world(sqlite_url, users=120, edit_stripe=cause.edit_stripe) as env:
        users = env.world.users_frame()
        held_back_members = users.loc[users["account_id"].isin(cause.held_back_accounts), "user_id"]

        outcome = _run(env, sqlite_url, cause)

    assert outcome == Outcome(
        succeeded=True,
        errors=sorted(cause.errors),
        contacts_not_pushed=sorted({*cause.left_out_users, *held_back_members}),
        companies_not_pushed=sorted(cause.held_back_accounts),
        contacts_of_no_user=0,
    )
