"""The one Definitions loads, and its job, schedule and assets follow the project's conventions."""

from __future__ import annotations

import importlib

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
        assert spec.group_name in {"ingest", "revenue", "attributes", "plays", "push", "lifecycle"}, spec.key
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
    with pytest.raises(ValueError, match="REVSYNC_ENV='staging'"):
        importlib.reload(definitions)
    monkeypatch.delenv("REVSYNC_ENV")
    importlib.reload(definitions)


def test_production_resources_take_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("REVSYNC_ENV", "production")
    try:
        reloaded = importlib.reload(definitions)
        stripe = reloaded.defs.resources["stripe"]
        assert stripe.base_url is None  # the real API
    finally:
        monkeypatch.delenv("REVSYNC_ENV")
        importlib.reload(definitions)
