"""The demo world's Stripe side, and the planted cases judged by the repo's own rules."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from assets.attributes import match_customers
from assets.plays.conditions import evaluate
from assets.plays.load import load_plays, plays_path
from assets.revenue import RevenueRules
from emulators.demo_world import build_world, stripe_objects, write_warehouse
from emulators.demo_world.__main__ import main
from emulators.demo_world.planted import CASES, CUSTOMERS
from emulators.stripe.state import StripeState
from resources.warehouse import WarehouseResource
from tests.fixtures.stripe_emulator import STRIPE_EPOCH
from tests.fixtures.warehouse_rows import validated_users

# Seat prices are flagged the way the revenue rules look for them.
SEAT_KEY = RevenueRules().seat_metadata_key

AS_OF = datetime(2025, 3, 1, 6, 30, tzinfo=UTC)
COUNTING = {"active", "past_due"}


@pytest.fixture(scope="module")
def world():
    return build_world(4_000, as_of=AS_OF)


@pytest.fixture(scope="module")
def objects(world):
    return stripe_objects(world)


def _account_billing(objects, users: pd.DataFrame, account_ids: pd.Series) -> pd.DataFrame:
    """plan and seat_count per account, the way the sync reads them: counting subscriptions only."""
    customers = pd.DataFrame(
        {
            "customer_id": [c["id"] for c in objects["customers"]],
            "email": [c["email"] for c in objects["customers"]],
            "metadata_account_id": [c["metadata"].get("account_id") for c in objects["customers"]],
        }
    )
    mapping, _ = match_customers(customers, users, account_ids)
    owner = mapping.set_index("customer_id")["account_id"]
    rows = []
    for sub in objects["subscriptions"]:
        if sub["status"] in COUNTING and sub["customer"] in owner:
            items = sub["items"]["data"]
            rows.append(
                {
                    "account_id": owner[sub["customer"]],
                    "plan": items[0]["price"]["product"].removeprefix("prod_"),
                    "seat_count": sum(i["quantity"] for i in items if i["price"]["metadata"].get(SEAT_KEY) == "true"),
                }
            )
    billing = pd.DataFrame(rows, columns=["account_id", "plan", "seat_count"]).set_index("account_id")
    return billing.reindex(account_ids).fillna({"plan": "free"})


def test_planted_cases_land_where_they_say_and_both_segments_have_members(world, objects, sqlite_url) -> None:
    write_warehouse(world, sqlite_url)
    warehouse = WarehouseResource(url=sqlite_url)
    users = validated_users(warehouse, AS_OF)
    usage = warehouse.usage_aggregates(
        {"reports_created": "report_created", "users_invited": "teammate_invited"}, AS_OF
    )
    billing = _account_billing(objects, users, warehouse.read_accounts()["account_id"])
    contacts = users.merge(usage, on="user_id").merge(billing, left_on="account_id", right_index=True)
    contacts["account_age_days"] = (pd.Timestamp(AS_OF) - contacts["created_at"]).dt.days
    contacts["company.account_seat_count"] = contacts["seat_count"]  # what the plays read for the company's seats
    segments = pd.DataFrame(
        {s.name: evaluate(s.when, contacts).to_numpy() for s in load_plays(plays_path()).segments},
        index=contacts["user_id"],
    )

    for case in CASES:
        row = contacts.set_index("user_id").loc[case.user_id]
        assert row["plan"] == case.effective_plan, case.key
        assert row["reports_created"] == case.reports, case.key
        assert row["users_invited"] == case.invites, case.key
        got = segments.loc[case.user_id].to_dict()
        want = {
            "ready_for_pro_upgrade": case.ready_for_pro_upgrade,
            "team_expansion_candidate": case.team_expansion_candidate,
        }
        assert got == want, f"{case.key}: {case.why}"

    random = segments[~segments.index.str.startswith("u_")]
    assert random["ready_for_pro_upgrade"].sum() >= 10
    assert random["team_expansion_candidate"].sum() >= 3
    old_only = contacts.set_index("user_id").loc["u_pro_old_reports"]
    assert old_only["reports_created_30d"] == 0


def test_customers_match_by_metadata_by_email_or_are_reported(world, objects) -> None:
    users = world.users_frame()
    customers = pd.DataFrame(
        {
            "customer_id": [c["id"] for c in objects["customers"]],
            "email": [c["email"] for c in objects["customers"]],
            "metadata_account_id": [c["metadata"].get("account_id") for c in objects["customers"]],
        }
    )
    mapping, problems = match_customers(customers, users, world.accounts["account_id"])
    by = Counter(mapping["matched_by"])
    assert by["metadata"] > 0.8 * len(customers)
    assert by["email"] >= 10
    reported = {p.record for p in problems}
    assert {f"cus_planted_{c.key}" for c in CUSTOMERS} <= reported
    assert "cus_a_team_by_email" in set(mapping["customer_id"])
    assert len(reported) < 0.02 * len(customers)  # a few, not many
    free = set(world.accounts.loc[world.accounts["plan"] == "free", "account_id"])
    assert not free & set(mapping["account_id"])  # free accounts have no customer at all


def test_catalog_covers_the_pricing_shapes(objects) -> None:
    prices = objects["prices"]
    assert {p["metadata"]["plan"] for p in objects["products"]} == {"free", "starter", "pro", "enterprise"}
    assert {p["recurring"]["interval"] for p in prices} == {"month", "year"}
    assert {p["currency"] for p in prices} == {"usd", "eur", "gbp", "jpy"}
    assert {p["tiers_mode"] for p in prices} == {None, "volume", "graduated"}
    assert all(p["tiers"] for p in prices if p["billing_scheme"] == "tiered")
    platform = [p for p in prices if "platform" in p["id"]]
    assert platform and all("seat" not in p["metadata"] for p in platform)
    assert all(p["metadata"][SEAT_KEY] == "true" for p in prices if p not in platform)
    coupons = objects["coupons"]
    assert {c["duration"] for c in coupons} == {"once", "repeating", "forever"}
    assert any(c["percent_off"] for c in coupons) and any(c["amount_off"] for c in coupons)


def test_subscriptions_cover_statuses_currencies_trials_and_discounts(world, objects) -> None:
    subs = objects["subscriptions"]
    assert {s["status"] for s in subs} == {"active", "trialing", "past_due", "canceled"}
    assert {s["currency"] for s in subs} == {"usd", "eur", "gbp", "jpy"}
    as_of = int(AS_OF.timestamp())
    for sub in subs:
        assert "current_period_end" not in sub and "discount" not in sub  # the pinned shape
        for item in sub["items"]["data"]:
            assert item["price"]["currency"] == sub["currency"]
            if sub["status"] in COUNTING:
                assert item["current_period_start"] <= as_of < item["current_period_end"]
        if sub["status"] == "trialing":
            assert sub["trial_start"] <= as_of < sub["trial_end"]
    assert any(s["cancel_at_period_end"] for s in subs)
    assert len(objects["discounts"]) == sum(len(s["discounts"]) for s in subs) > 0
    assert {d["source"]["coupon"] for d in objects["discounts"]} >= {"pct20_forever", "pct50_3mo"}


def test_objects_are_deterministic_and_load_into_the_emulator(world, objects) -> None:
    assert stripe_objects(build_world(4_000, as_of=AS_OF)) == objects
    counts = StripeState(now=int(AS_OF.timestamp())).load(stripe_objects(world))
    assert counts["subscriptions"] == len(objects["subscriptions"]) and counts["discounts"] > 0


def test_cli_fills_the_warehouse_and_the_stripe_emulator(tmp_path, stripe_emulator, stripe_client, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    as_of = datetime.fromtimestamp(STRIPE_EPOCH, UTC).isoformat()
    assert main(["--users", "300", "--warehouse-url", url, "--stripe-url", stripe_emulator.url, "--as-of", as_of]) == 0
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 300
    listed = list(stripe_client.v1.subscriptions.list({"status": "all", "limit": 100}).auto_paging_iter())
    expected = stripe_objects(build_world(300, as_of=datetime.fromtimestamp(STRIPE_EPOCH, UTC)))["subscriptions"]
    assert sorted(s.id for s in listed) == sorted(s["id"] for s in expected)
    assert "warehouse:" in capsys.readouterr().out
