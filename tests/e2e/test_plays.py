"""A custom plays file end to end: the real job, both emulators, SQLite and PostgreSQL. Intercom ends
up holding exactly the members the rules select, holdout members only in `<segment>_control`."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from assets.plays.holdout import in_control
from assets.plays.load import forget_parsed_plays, plays_file_parses
from tests.e2e.harness import AS_OF, metadata, sync_world

pytestmark = pytest.mark.slow

PLAYS = {
    "segments": [
        {
            "name": "engaged_payers",
            "title": "Engaged payers",
            "model": "contact",
            "when": {"all": [{"attribute": "plan", "op": "in", "value": ["starter", "pro"]},
                             {"attribute": "reports_created", "op": "gte", "value": 3}]},
            "holdout_percent": 30,
            "holdout_salt": "e2e",
            "goal": {"attribute": "company.account_seat_count", "op": "gte", "value": 20},
        },
        {
            "name": "key_accounts",
            "title": "Key accounts",
            "model": "company",
            "when": {"any": [{"attribute": "value_tier", "op": "eq", "value": "high_value"},
                             {"attribute": "account_user_count", "op": "gte", "value": 4}]},
            "holdout_percent": 25,
        },
    ],
    "tiers": [{"name": "mid_value", "min_mrr": 100}, {"name": "high_value", "min_mrr": 500}],
    "acv_route_threshold": 3000,
}  # fmt: skip


def _split(pushed: dict[str, dict], name: str) -> tuple[set[str], set[str]]:
    treated = {k for k, v in pushed.items() if v["custom_attributes"].get(name) is True}
    held = {k for k, v in pushed.items() if v["custom_attributes"].get(f"{name}_control") is True}
    return treated, held


def test_a_custom_plays_file_is_pushed_with_holdouts(warehouse_url, tmp_path):
    path = tmp_path / "plays.yaml"
    path.write_text(yaml.safe_dump(PLAYS))
    with sync_world(warehouse_url) as env:
        env.plays_file = str(path)
        forget_parsed_plays()  # as a fresh run worker starts
        parses = plays_file_parses()
        result = env.run()
        assert result.success
        # segment_membership, play_results and the push's catalog all read the plays: one parse.
        assert plays_file_parses() - parses == 1
        contacts = result.output_for_node("contact_attributes")
        companies = result.output_for_node("company_attributes")

        # What the rules select, computed here independently of the plays code.
        expected_contacts = set(
            contacts.loc[contacts["plan"].isin(["starter", "pro"]) & (contacts["reports_created"] >= 3), "external_id"]
        )
        mrr = companies["account_reporting_mrr"].astype("Float64")
        expected_companies = set(
            companies.loc[((mrr >= 500).fillna(False) | (companies["account_user_count"] >= 4)), "company_id"]
        )
        assert expected_contacts and expected_companies

        pushed = env.intercom_app.contacts_by_external_id()
        treated, held = _split(pushed, "engaged_payers")
        assert treated | held == expected_contacts and not treated & held
        control = in_control("engaged_payers", "e2e", sorted(expected_contacts), 30)
        assert held == {k for k, c in zip(sorted(expected_contacts), control, strict=True) if c}
        assert held, "a 30 % holdout of this many members is never empty"
        today = int(datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=UTC).timestamp())
        for key in expected_contacts:
            assert pushed[key]["custom_attributes"]["engaged_payers_entered_at"] == today
        # The shipped playbook segments are not in this file, so nothing creates their attributes.
        assert "ready_for_pro_upgrade" not in env.intercom_app.data_attributes("contact")

        pushed_companies = env.intercom_app.companies_by_company_id()
        treated_c, held_c = _split(pushed_companies, "key_accounts")
        assert treated_c | held_c == expected_companies and not treated_c & held_c
        for row in companies.to_dict("records"):
            attributes = pushed_companies[row["company_id"]]["custom_attributes"]
            if pd.isna(row["account_reporting_mrr"]):
                continue
            tier = (
                "high_value"
                if row["account_reporting_mrr"] >= 500
                else "mid_value"
                if row["account_reporting_mrr"] >= 100
                else None
            )
            assert attributes.get("value_tier") == tier, row["company_id"]
            assert attributes.get("route_to_sales") is (row["account_reporting_mrr"] * 12 >= 3000), row["company_id"]

        sizes = metadata(result, "segment_membership")
        assert sizes["engaged_payers_members"] == len(expected_contacts)
        assert sizes["engaged_payers_control"] == len(held)
        assert sizes["key_accounts_members"] == len(expected_companies)
        results = result.output_for_node("play_results").set_index("segment")
        assert results.loc["engaged_payers", "treatment_n"] == len(treated)
        assert results.loc["engaged_payers", "control_n"] == len(held)
        with sa.create_engine(warehouse_url).connect() as conn:
            stints = conn.execute(sa.text("select segment, count(*) from revsync_play_stints group by segment")).all()
            stored = conn.execute(sa.text("select segment, members from revsync_play_daily")).all()
        assert dict(stints) == {"engaged_payers": len(expected_contacts), "key_accounts": len(expected_companies)}
        assert dict(stored) == dict(stints)

        # The same day again: no membership change, nothing written to Intercom.
        second = env.run()
        assert second.success
        assert metadata(second, "membership_history")["engaged_payers_entered"] == 0
        assert metadata(second, "intercom_contacts")["updated"] == 0
        assert metadata(second, "intercom_companies")["updated"] == 0


def test_a_dry_run_lists_who_would_enter_and_records_nothing(sqlite_url, tmp_path):
    path = tmp_path / "plays.yaml"
    path.write_text(yaml.safe_dump(PLAYS))
    with sync_world(sqlite_url) as env:
        env.plays_file = str(path)
        # The dry-run job plans the plays and the push (intercom_push_plan) and records neither.
        result = env.run("intercom_dry_run")
        assert result.success
        assert not result.asset_materializations_for_node("membership_history")
        listed = str(metadata(result, "segment_membership")["entering_and_leaving"])
        members = result.output_for_node("segment_membership").change("engaged_payers").entered["key"]
        assert len(members) > 0 and all(f"| engaged_payers | {key} " in listed for key in members[:20])
        with sa.create_engine(sqlite_url).connect() as conn:
            assert conn.execute(sa.text("select count(*) from revsync_play_stints")).scalar_one() == 0


def test_a_bad_plays_file_fails_the_run_before_anything_is_pushed(sqlite_url, tmp_path):
    path = tmp_path / "plays.yaml"
    path.write_text(yaml.safe_dump({"segments": [{**PLAYS["segments"][0], "holdout_percent": 80}]}))
    with sync_world(sqlite_url) as env:
        env.plays_file = str(path)
        result = env.run()
        assert not result.success
        failures = {e.step_key: str(e.event_specific_data.error.message) for e in result.all_events
                    if e.event_type_value == "STEP_FAILURE"}  # fmt: skip
        # Every asset that reads the plays file fails with the same message before anything is written.
        assert {"segment_membership", "intercom_data_attributes"} <= set(failures)
        problem = f"{path}: segment 'engaged_payers', field 'holdout_percent': Input should be less than or equal to 50"
        assert all(problem in message for message in failures.values())
        assert env.intercom_app.contacts_by_external_id() == {}
