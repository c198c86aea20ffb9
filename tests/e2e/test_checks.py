"""The blocking checks in the real nightly_sync: each passes on good data, fails on bad data and
then nothing reaches the Intercom emulator, and an acknowledged failure lets the run push."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
import stripe

from assets.checks.assets import company_keys_unique, contact_keys_unique
from resources.check_settings import AcknowledgedChecks, CheckSettings
from resources.state import StateStore
from resources.warehouse import UsersTable, WarehouseResource
from tests.e2e.harness import AS_OF, SMALL_WORLD_CHECKS, STRIPE_KEY, SyncWorld, sync_world

pytestmark = pytest.mark.slow

CHECKS = {
    "contact_keys_unique",
    "company_keys_unique",
    "usage_events_fresh",
    "unmatched_customers_share",
    "unreadable_subscriptions_share",
    "held_back_accounts_share",
    "revenue_swing_explained",
    "segment_sizes_steady",
}


def _writes(env: SyncWorld) -> int:
    counters = env.intercom_app.counters
    return sum(v for k, v in counters.items() if k.startswith(("route:POST", "route:PUT", "route:DELETE")))


def _evaluations(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _checks(**values: object) -> CheckSettings:
    return CheckSettings(**{**SMALL_WORLD_CHECKS.model_dump(), **values})


def acknowledge(*names: str) -> dict:
    return {"resources": {"acknowledged_checks": {"config": {"names": list(names)}}}}


def _blocked_then_acknowledged(
    env: SyncWorld, check: str, checks: CheckSettings, run_config: dict | None = None
) -> None:
    """The failing check stops the run before any write; acknowledging it lets the same run push."""
    writes = _writes(env)
    env.overrides["checks"] = checks
    blocked = env.run(run_config=run_config)
    assert not blocked.success
    failed = _evaluations(blocked)[check]
    assert not failed.passed and failed.severity.value == "ERROR"
    assert failed.description  # says what was found and where to look
    assert _writes(env) == writes  # nothing reached Intercom
    assert not blocked.asset_materializations_for_node("intercom_contacts")

    acknowledged = env.run(run_config={**(run_config or {}), **acknowledge(check)})  # as in the launchpad
    assert acknowledged.success
    evaluation = _evaluations(acknowledged)[check]
    assert not evaluation.passed and evaluation.severity.value == "WARN"
    assert evaluation.metadata["acknowledged"].value is True
    assert evaluation.description.startswith("acknowledged for this run")
    assert _writes(env) > writes


@pytest.fixture
def env(sqlite_url: str) -> Iterator[SyncWorld]:
    with sync_world(sqlite_url) as world:
        yield world


def test_every_check_passes_on_good_data_and_the_push_follows(env):
    result = env.run()
    assert result.success
    evaluations = _evaluations(result)
    assert set(evaluations) == CHECKS
    assert all(e.passed for e in evaluations.values()), {n: e.description for n, e in evaluations.items()}
    assert _writes(env) > 0


def _view(url: str, name: str, table: str, key: str) -> None:
    """A view of `table` in which one key appears twice."""
    with sa.create_engine(url).begin() as conn:
        conn.execute(
            sa.text(
                f"CREATE VIEW {name} AS SELECT * FROM {table} "
                f"UNION ALL SELECT * FROM {table} WHERE {key} = (SELECT min({key}) FROM {table})"
            )
        )


def _key_check_blocks_even_when_acknowledged(check: dg.AssetChecksDefinition, asset: str, frame: pd.DataFrame) -> None:
    """A key check fails with ERROR on a frame with a repeated key, acknowledged or not: Intercom
    upserts by the key. (The warehouse cannot deliver such a frame: ingest leaves duplicates out.)"""

    @dg.asset(name=asset)
    def stand_in() -> pd.DataFrame:
        return frame

    result = dg.materialize(
        [stand_in, check],
        resources={
            "checks": SMALL_WORLD_CHECKS,
            "acknowledged_checks": AcknowledgedChecks(names=[next(iter(check.check_keys)).name]),
        },
        raise_on_error=False,
    )
    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity.value == "ERROR"
    assert "used more than once" in (evaluation.description or "")


def test_duplicate_warehouse_keys_are_left_out_at_ingest_and_never_pushed(env, sqlite_url):
    _view(sqlite_url, "users_twice", "users", "user_id")
    env.overrides["warehouse"] = WarehouseResource(url=sqlite_url, users=UsersTable(table="users_twice"))
    with sa.create_engine(sqlite_url).connect() as conn:
        twice = conn.execute(sa.text("SELECT min(user_id) FROM users")).scalar_one()
    result = env.run()
    assert result.success
    assert _evaluations(result)["contact_keys_unique"].passed  # ingest already left both rows out
    assert twice not in env.intercom_app.contacts_by_external_id()
    errors = StateStore(sqlite_url).errors_for_run(result.run_id)
    assert sum(e["record_key"] == twice for e in errors) == 2  # every duplicate is reported


def test_duplicate_contact_keys_block_the_push_even_when_acknowledged():
    frame = pd.DataFrame({"external_id": ["u1", "u1", "u2"], "email": ["a@x.io", "b@x.io", "c@x.io"]})
    _key_check_blocks_even_when_acknowledged(contact_keys_unique, "contact_attributes", frame)


def test_duplicate_company_keys_block_the_push_even_when_acknowledged():
    frame = pd.DataFrame({"company_id": ["a1", "a1", None], "name": ["A", "B", "C"]})
    _key_check_blocks_even_when_acknowledged(company_keys_unique, "company_attributes", frame)


def test_a_stale_usage_table_blocks_the_push(env):
    env.as_of = AS_OF + timedelta(hours=48)  # the newest event is now two days old
    _blocked_then_acknowledged(env, "usage_events_fresh", _checks(usage_max_age_hours=36))


def test_too_many_unmatched_customers_block_the_push(env):
    _blocked_then_acknowledged(env, "unmatched_customers_share", _checks(max_unmatched_customer_percent=1))


def _drop_a_used_coupon(objects: dict) -> None:
    used = min(d["source"]["coupon"] for d in objects["discounts"])
    objects["coupons"] = [c for c in objects["coupons"] if c["id"] != used]


@pytest.mark.parametrize(
    ("check", "limits"),
    [
        ("unreadable_subscriptions_share", {"max_unreadable_subscription_percent": 1, "max_held_back_percent": 100}),
        ("held_back_accounts_share", {"max_unreadable_subscription_percent": 100, "max_held_back_percent": 1}),
    ],
)
def test_unreadable_subscriptions_and_held_back_accounts_block_the_push(sqlite_url, check, limits):
    with sync_world(sqlite_url, edit_stripe=_drop_a_used_coupon) as env:
        _blocked_then_acknowledged(env, check, _checks(**limits))


def _paying(env: SyncWorld) -> list[dict]:
    subscriptions = env.stripe_app.state.collections["subscriptions"]
    return [s for s in subscriptions.values() if s["status"] == "active"]


def test_mrr_vanishing_without_stripe_cancellations_blocks_the_push(env):
    assert env.run().success  # the push that sets the baseline
    subscriptions = env.stripe_app.state.collections["subscriptions"]
    kept = [s for s in subscriptions.values() if s["status"] != "active"]
    subscriptions.clear()  # paying subscriptions missing from Stripe's list, as in a partial read
    for subscription in kept:
        subscriptions.add(subscription)
    # No event tells of it: only a full listing (weekly, or requested as here) reads the partial list.
    full = {"ops": {"stripe_snapshot": {"config": {"full_refresh": True}}}}
    _blocked_then_acknowledged(env, "revenue_swing_explained", SMALL_WORLD_CHECKS, run_config=full)


def test_an_mrr_drop_explained_by_stripe_cancellations_passes(env):
    assert env.run().success
    env.stripe_app.configure(rate_limit=None)  # cancel them all at once
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": env.stripe.url})
    env.stripe_app.limiter.per_second = None  # the test's own burst of cancellations is not under test
    for subscription in _paying(env):
        client.v1.subscriptions.cancel(subscription["id"])
    result = env.run()
    assert result.success
    evaluation = _evaluations(result)["revenue_swing_explained"]
    assert evaluation.passed
    assert evaluation.metadata["swing_percent"].value < -20  # a real drop, explained by the cancellations


def test_a_segment_size_swing_warns_without_blocking(env, sqlite_url):
    assert env.run().success
    with sa.create_engine(sqlite_url).begin() as conn:
        conn.execute(sa.text("DELETE FROM usage_events WHERE event_name = 'report_created'"))
    writes = _writes(env)
    result = env.run()
    assert result.success
    evaluation = _evaluations(result)["segment_sizes_steady"]
    assert not evaluation.passed and evaluation.severity.value == "WARN"
    assert "ready_for_pro_upgrade" in evaluation.description
    assert _writes(env) > writes  # a warning never blocks


def test_the_checks_and_the_dry_run_run_without_pushing(env):
    checks = env.run("sync_checks")
    assert checks.success
    assert {e.check_name for e in checks.get_asset_check_evaluations()} == CHECKS
    dry = env.run("intercom_dry_run")
    assert dry.success and dry.dagster_run.tags["revsync/dry_run"] == "true"
    materialized = {e.asset_key.path[-1] for e in dry.get_asset_materialization_events()}
    assert "intercom_push_plan" in materialized
    assert not {m for m in materialized if m.startswith("intercom_") and m != "intercom_push_plan"}
    plan = {k: v.value for k, v in dry.asset_materializations_for_node("intercom_push_plan")[0].metadata.items()}
    assert plan["contacts_creates"] == len(env.world.users_frame()) - plan["contacts_unchanged"] > 0
    assert _writes(env) == 0  # neither job wrote to Intercom
