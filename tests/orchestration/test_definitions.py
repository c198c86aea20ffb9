"""The one Definitions loads, and its job, schedule and assets follow the project's conventions."""

from __future__ import annotations

import importlib
from datetime import timedelta

import dagster as dg
import pytest

from assets.plays.load import PlaysFileError
from orchestration import definitions, schedules


def test_nightly_sync_covers_every_sync_stage():
    job = definitions.defs.resolve_job_def("nightly_sync")
    nodes = set(job.graph.node_dict)
    assert {"stripe_subscription_snapshot", "usage_aggregates", "contact_attributes", "intercom_contacts"} <= nodes
    assert {"segment_membership", "membership_history", "play_results"} <= nodes


def test_a_bad_plays_file_fails_loading_the_definitions(monkeypatch, tmp_path):
    bad = tmp_path / "plays.yaml"
    bad.write_text("segments:\n  - {name: x, title: X, when: {attribute: plann, op: eq, value: free}}\n")
    monkeypatch.setenv("REVSYNC_PLAYS", str(bad))
    try:
        with pytest.raises(
            PlaysFileError, match=r"segment 'x', field 'when.attribute': unknown contact attribute 'plann'"
        ):
            importlib.reload(definitions)
    finally:
        monkeypatch.delenv("REVSYNC_PLAYS")
        importlib.reload(definitions)


def test_every_asset_is_a_documented_grouped_noun():
    for spec in definitions.defs.resolve_all_asset_specs():
        assert spec.group_name in {"ingest", "revenue", "attributes", "plays", "pool", "push", "lifecycle"}, spec.key
        assert spec.kinds, spec.key
        assert spec.description, spec.key


def test_schedule_runs_at_two_in_the_configured_timezone(monkeypatch):
    monkeypatch.setenv("REVSYNC_SCHEDULE_TIMEZONE", "Europe/Berlin")
    schedule = schedules.nightly_sync_schedule()
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert definitions.defs.resolve_schedule_def("nightly_sync_schedule").job_name == "nightly_sync"


def test_unknown_environment_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("REVSYNC_ENV", "staging")
    try:
        with pytest.raises(ValueError, match="REVSYNC_ENV='staging'"):
            importlib.reload(definitions)
    finally:
        monkeypatch.setenv("REVSYNC_ENV", "demo")
        importlib.reload(definitions)


def test_a_deployment_that_forgets_the_environment_fails_naming_the_variable(monkeypatch):
    monkeypatch.delenv("REVSYNC_ENV")
    try:
        with pytest.raises(ValueError, match=r"REVSYNC_ENV is not set: set it to one of \['demo', 'production'\]"):
            importlib.reload(definitions)
    finally:
        monkeypatch.setenv("REVSYNC_ENV", "demo")
        importlib.reload(definitions)


def test_production_resources_take_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("REVSYNC_ENV", "production")
    try:
        reloaded = importlib.reload(definitions)
        stripe = reloaded.defs.resources["stripe"]
        assert stripe.base_url is None  # the real API
    finally:
        monkeypatch.setenv("REVSYNC_ENV", "demo")
        importlib.reload(definitions)


def test_every_job_schedule_and_sensor_is_described():
    defs = definitions.defs
    described = [*defs.jobs, *defs.schedules, *defs.sensors]
    assert {d.name for d in described} >= {"nightly_sync", "intercom_dry_run", "sync_checks", "run_failure_alert"}
    assert all(d.description for d in described), [d.name for d in described if not d.description]


def test_ingest_retries_whole_steps_with_backoff_and_the_push_declares_freshness():
    job = definitions.defs.resolve_job_def("nightly_sync")
    # The steps that cross a network: Stripe (the snapshot) and the warehouse. The later Stripe
    # assets read the stored snapshot.
    for node in ("stripe_snapshot", "warehouse_accounts", "warehouse_users", "usage_aggregates", "fx_rates"):
        policy = job.graph.node_named(node).definition.retry_policy
        assert policy is not None and policy.max_retries == 3 and policy.backoff == dg.Backoff.EXPONENTIAL, node
    assert job.graph.node_named("intercom_contacts").definition.retry_policy is None  # retries per request
    specs = {spec.key.path[-1]: spec for spec in definitions.defs.resolve_all_asset_specs()}
    for asset in ("intercom_data_attributes", "intercom_companies", "intercom_contacts"):
        policy = specs[asset].freshness_policy
        assert policy is not None and policy.fail_window.to_timedelta() == timedelta(hours=26), asset


def test_the_push_waits_for_every_blocking_check():
    graph = definitions.defs.resolve_asset_graph()
    blocking = {key for key in graph.asset_check_keys if graph.get_check_spec(key).blocking}
    assert len(blocking) == 8
    upstream = graph.get(dg.AssetKey("intercom_data_attributes")).parent_keys
    assert {dg.AssetKey("contact_attributes"), dg.AssetKey("company_attributes")} <= upstream
