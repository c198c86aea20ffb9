"""The `make demo` runner: a readable summary ending in one JSON line; a second run writes nothing."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from emulators.intercom import IntercomEmulator
from emulators.runner import load_state_file
from orchestration.definitions import defs
from orchestration.demo import HISTORY_DAYS, INTERCOM_STATE, main
from orchestration.jobs import SYNC_GROUPS

pytestmark = pytest.mark.slow
REQUIRED = {
    "contacts_created",
    "contacts_updated",
    "companies_upserted",
    "attributes_written",
    "events_sent",
    "segments",
    "checks",
    "plays",
    "mrr_total",
}
PLAY_KEYS = {"members", "treatment", "control", "lift_pct_points", "ci95", "p_value", "verdict"}


def _last_json_line(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_demo_twice_second_run_writes_nothing(tmp_path, capsys, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # The planted unmatched customers are a larger share of a 120-user world than of the default 1,000.
    monkeypatch.setenv("REVSYNC_CHECK_MAX_UNMATCHED_CUSTOMER_PERCENT", "20")
    args = ["--users", "120", "--seed", "5", "--data-dir", str(tmp_path)]

    assert main(args) == 0
    first = _last_json_line(capsys.readouterr().out)
    assert set(first) >= REQUIRED
    assert first["contacts_created"] == 120
    assert first["companies_upserted"] > 0
    assert first["attributes_written"] > 0
    assert first["mrr_total"] > 0
    assert first["events_sent"] >= 16  # the scripted histories: every lifecycle event type at least once
    assert first["history_days"] == HISTORY_DAYS
    assert set(first["segments"]) == {"ready_for_pro_upgrade", "team_expansion_candidate"}
    assert all(size > 0 for size in first["segments"].values())
    assert first["checks"] == {"passed": 8, "failed": 0, "warned": 0}
    # The simulated earlier run: a measured play per playbook segment (too small here for a verdict of lift).
    assert set(first["plays"]) == {"ready_for_pro_upgrade", "team_expansion_candidate"}
    for play in first["plays"].values():
        assert set(play) == PLAY_KEYS
        assert play["treatment"] > 0 and play["control"] > 0
        assert play["members"] == play["treatment"] + play["control"]
        low, high = play["ci95"]
        assert low <= play["lift_pct_points"] <= high and 0 <= play["p_value"] <= 1

    assert main(args) == 0
    second = _last_json_line(capsys.readouterr().out)
    assert (second["contacts_created"], second["contacts_updated"], second["companies_upserted"]) == (0, 0, 0)
    assert second["attributes_written"] == 0
    assert second["events_sent"] == 0
    assert second["mrr_total"] == first["mrr_total"]
    assert second["segments"] == first["segments"]
    assert second["checks"] == first["checks"]
    assert second["plays"] == first["plays"]
    assert second["history_days"] == HISTORY_DAYS


def test_demo_records_the_history_nightly_sync_reads(tmp_path, capsys, monkeypatch):
    """The UI warns before launching nightly_sync when an upstream asset outside the job was
    never materialized (it asks for one materialization of each); the demo leaves none such."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("REVSYNC_CHECK_MAX_UNMATCHED_CUSTOMER_PERCENT", "20")
    assert main(["--users", "100", "--seed", "3", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()

    nightly = dg.AssetSelection.groups(*SYNC_GROUPS) - dg.AssetSelection.assets("intercom_push_plan")
    graph = defs.resolve_asset_graph()
    inside = nightly.resolve(graph)
    outside = {parent for key in inside for parent in graph.get(key).parent_keys} - inside
    assert outside == {dg.AssetKey("customer_mrr_movements")}
    with dg.DagsterInstance.get() as instance:
        for key in outside:
            assert instance.get_latest_materialization_event(key) is not None, key
        history_days = instance.get_materialized_partitions(dg.AssetKey("customer_mrr_daily"))
    assert len(history_days) == HISTORY_DAYS

    intercom = IntercomEmulator()
    assert load_state_file(intercom, tmp_path / INTERCOM_STATE)
    changes = [c["custom_attributes"].get("mrr_change_30d") for c in intercom.contacts_by_external_id().values()]
    assert any(change is not None for change in changes)  # 30 days back is recorded: trends are known
