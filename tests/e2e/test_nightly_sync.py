"""nightly_sync end to end: the real job, both emulators over HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from assets.attributes import COMPANY_ATTRIBUTES, catalog
from emulators.demo_world.planted import CASES
from tests.e2e.harness import metadata, sync_world

pytestmark = pytest.mark.slow
CONTACT_ATTRIBUTES = [s.name for s in catalog() if s.model == "contact"]


def _same(pushed: object, expected: object) -> bool:
    if expected is None or (not isinstance(expected, str) and pd.isna(expected)):
        return pushed is None
    if isinstance(expected, float):
        return pushed is not None and abs(float(pushed) - expected) < 1e-9
    return pushed == expected


def test_nightly_sync_end_to_end_then_nothing_to_write(warehouse_url):
    with sync_world(warehouse_url) as env:
        first = env.run()
        assert first.success
        contacts = first.output_for_node("contact_attributes")
        companies = first.output_for_node("company_attributes")
        pushed = env.intercom_app.contacts_by_external_id()

        # Every warehouse user is an Intercom user contact with exactly the computed attributes.
        assert set(pushed) == set(contacts["external_id"])
        mismatches = [
            (row["external_id"], name, pushed[row["external_id"]]["custom_attributes"].get(name), row[name])
            for row in contacts.to_dict("records")
            for name in CONTACT_ATTRIBUTES
            if not _same(pushed[row["external_id"]]["custom_attributes"].get(name), row[name])
        ]
        assert mismatches == []
        assert all(c["role"] == "user" for c in pushed.values())

        # Every account is a company, with its users attached and its revenue fields set.
        pushed_companies = env.intercom_app.companies_by_company_id()
        assert set(pushed_companies) == set(companies["company_id"])
        for row in companies.to_dict("records"):
            company = pushed_companies[row["company_id"]]
            # monthly_spend is an integer in Intercom, rounded half up (docs/push.md).
            assert company["monthly_spend"] == math.floor((row["monthly_spend"] or 0) + 0.5)
            for spec in COMPANY_ATTRIBUTES:
                assert _same(company["custom_attributes"].get(spec.name), row[spec.name]), (row["company_id"], spec)
        company_ids = {c["id"]: c["company_id"] for c in pushed_companies.values()}
        for row in contacts.dropna(subset=["company_id"]).to_dict("records"):
            attached = [company_ids[c["id"]] for c in pushed[row["external_id"]]["companies"]["data"]]
            assert attached == [row["company_id"]]

        # The planted boundary cases land in exactly the segments they were built for (plays.yaml):
        # in treatment (`<segment>` true) or in the holdout (`<segment>_control` true), never both.
        for case in CASES:
            attributes = pushed[case.user_id]["custom_attributes"]
            for segment, expected in (
                ("ready_for_pro_upgrade", case.ready_for_pro_upgrade),
                ("team_expansion_candidate", case.team_expansion_candidate),
            ):
                treated, held = attributes[segment], attributes[f"{segment}_control"]
                assert (treated or held) is expected and not (treated and held), (case.key, segment)
                assert (attributes.get(f"{segment}_entered_at") is not None) is expected, (case.key, segment)
            assert attributes["plan"] == case.effective_plan, case.key

        # Seats: the quantity of the seat price, whatever its billing scheme (per unit or tiered).
        accounts = env.world.accounts.set_index("account_id")
        paying = accounts[(accounts["plan"] != "free") & (accounts["status"] != "canceled")]
        seats = companies.set_index("company_id")["account_seat_count"].reindex(paying.index)
        assert seats.astype("int64").tolist() == paying["seats"].astype("int64").tolist()

        contact_counts = metadata(first, "intercom_contacts")
        assert contact_counts["created"] == len(contacts)

        # Stripe is read once per run, by the snapshot's ingest: every call the emulator served
        # is one the ingest counted (the lifecycle events read the stored snapshot and event log).
        ingest = metadata(first, "stripe_snapshot")
        assert (ingest["mode"], ingest["reason"]) == ("full", "first_run")
        stripe_reads = _stripe_reads(env.stripe.app.counters)
        assert stripe_reads["GET /v1/subscriptions"] == ingest["stripe_calls_by_endpoint"]["GET /v1/subscriptions"]
        assert stripe_reads["GET /v1/customers"] == ingest["stripe_calls_by_endpoint"]["GET /v1/customers"]
        for endpoint in ("GET /v1/prices", "GET /v1/products", "GET /v1/coupons"):
            assert stripe_reads[endpoint] == ingest["stripe_calls_by_endpoint"][endpoint] == 1

        # Same data again: nothing is written to Intercom.
        writes_before = _writes(env.intercom_app.counters)
        reads_before = sum(_stripe_reads(env.stripe.app.counters).values())
        second = env.run()
        assert second.success
        # A quiet night reads Stripe's event pages only: one of object events, one of billing
        # events; the lifecycle events read the log and make no call of their own.
        quiet = metadata(second, "stripe_snapshot")
        assert (quiet["mode"], quiet["stripe_calls"], quiet["stripe_calls_by_endpoint"]) == (
            "incremental", 2, {"GET /v1/events": 2},
        )  # fmt: skip
        assert sum(_stripe_reads(env.stripe.app.counters).values()) - reads_before == 2
        assert metadata(second, "intercom_contacts")["created"] == 0
        assert metadata(second, "intercom_contacts")["updated"] == 0
        assert metadata(second, "intercom_companies")["updated"] == 0
        assert _writes(env.intercom_app.counters) == writes_before


def _stripe_reads(counters) -> dict[str, int]:
    """Requests the Stripe emulator served, by route ("GET /v1/subscriptions")."""
    prefix = "route:GET "
    return {k.removeprefix(prefix): v for k, v in counters.items() if k.startswith(prefix)}


def _writes(counters) -> int:
    return sum(v for k, v in counters.items() if k.startswith(("route:POST", "route:PUT", "route:DELETE")))


def test_unmatched_stripe_customers_are_reported_not_guessed(sqlite_url):
    with sync_world(sqlite_url) as env:
        result = env.run()
        assert result.success
        matched = metadata(result, "customer_accounts")
        assert matched["unmatched"] >= 4  # the planted nobody / no_email / ghost_account / shared_email
        errors = json.dumps(str(matched["unmatched_customers"]))
        for key in ("cus_planted_nobody", "cus_planted_no_email", "cus_planted_ghost_account"):
            assert key in errors


def test_configured_usage_metrics_reach_intercom(sqlite_url):
    with sync_world(sqlite_url) as env:
        env.usage_metrics = {"reports_created": "report_created", "users_invited": "teammate_invited",
                             "dashboards_shared": "dashboard_shared"}  # fmt: skip
        result = env.run()
        assert result.success
        assert "dashboards_shared_30d" in env.intercom_app.data_attributes("contact")
        assert "projects_created" not in env.intercom_app.data_attributes("contact")
        contacts = result.output_for_node("contact_attributes").set_index("external_id")
        sharer = contacts["dashboards_shared"].idxmax()
        pushed = env.intercom_app.contacts_by_external_id()[sharer]["custom_attributes"]
        assert pushed["dashboards_shared"] == contacts.loc[sharer, "dashboards_shared"] > 0


def test_warehouse_exchange_rates_override_configuration(sqlite_url):
    with sync_world(sqlite_url) as env:
        engine = sa.create_engine(sqlite_url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE fx_rates (currency TEXT, rate TEXT)"))
            conn.execute(sa.text("INSERT INTO fx_rates VALUES ('eur', '2'), ('gbp', 'n/a')"))
        env.fx_rates_table = "fx_rates"
        result = env.run()
        assert result.success
        revenue = result.output_for_node("account_revenue")
        eur = revenue[(revenue["mrr_currency"] == "eur") & (revenue["mrr_minor"] > 0)]
        assert len(eur) > 0
        assert (eur["reporting_mrr_minor"] == eur["mrr_minor"] * 2).all()  # the table's rate, not 1.08
        with engine.connect() as conn:
            bad = conn.execute(
                sa.text("select record_key, field from revsync_sync_errors where model = 'fx_rate'")
            ).all()
        assert bad == [("gbp", "rate")]
        gbp = revenue[(revenue["mrr_currency"] == "gbp") & (revenue["mrr_minor"] > 0)]
        assert gbp["reporting_mrr_minor"].notna().all()  # the configured gbp rate still applies


def _drop_a_used_coupon(objects: dict) -> None:
    """A coupon deleted in Stripe still applies to subscriptions, but no longer appears in the list."""
    used = min(d["source"]["coupon"] for d in objects["discounts"])
    objects["coupons"] = [c for c in objects["coupons"] if c["id"] != used]


def test_an_account_with_an_unreadable_subscription_is_held_back_not_shown_as_free(sqlite_url):
    with sync_world(sqlite_url, edit_stripe=_drop_a_used_coupon) as env:
        # One bad subscription is several percent of this small world: the coverage checks would
        # block the run (tests/e2e/test_checks.py); accepting them shows what is pushed then.
        coverage = ["unreadable_subscriptions_share", "held_back_accounts_share"]
        result = env.run(run_config={"resources": {"acknowledged_checks": {"config": {"names": coverage}}}})
        assert result.success
        unreadable = result.asset_value("unreadable_subscriptions")
        assert len(unreadable) > 0 and set(unreadable["field"]) == {"discounts[0].source.coupon"}
        accounts = result.output_for_node("customer_accounts").set_index("customer_id")["account_id"]
        held_accounts = set(unreadable["customer_id"].map(accounts).dropna())
        assert held_accounts
        pushed = env.intercom_app.contacts_by_external_id()
        users = env.world.users_frame()
        held_users = set(users.loc[users["account_id"].isin(held_accounts), "user_id"])
        assert held_users and not held_users & set(pushed)  # not pushed as free: not pushed at all
        assert set(users["user_id"]) - held_users <= set(pushed)  # everyone else was
        assert metadata(result, "contact_attributes")["held_back"] == len(held_users)
        assert not held_accounts & set(env.intercom_app.companies_by_company_id())
        with sa.create_engine(sqlite_url).connect() as conn:
            recorded = conn.execute(
                sa.text("select record_key, field from revsync_sync_errors where model = 'subscription'")
            ).all()
        assert set(recorded) == set(zip(unreadable["subscription_id"], unreadable["field"], strict=True))


def test_a_refused_stripe_key_fails_the_run_at_once_without_retries(sqlite_url):
    with sync_world(sqlite_url, users=40) as env:
        env.stripe_app.api_keys = {"sk_test_another_key"}  # ours is refused: 401, on every retry too
        result = env.run()
    assert not result.success
    events = [e for e in result.all_events if e.step_key == "stripe_snapshot"]
    assert not [e for e in events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    failure = next(e for e in events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    error = failure.step_failure_data.user_failure_data
    assert error.description == "stripe_snapshot: AuthenticationError, not retried: the same call would fail again"
    assert not env.intercom_app.contacts_by_external_id()  # nothing reached Intercom
