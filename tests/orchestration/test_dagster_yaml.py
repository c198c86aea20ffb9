"""The shipped dagster-instance.yaml loads; README's production dagster.yaml has its pool and slot settings
and keeps the run queue."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.run_coordinator import DefaultRunCoordinator, QueuedRunCoordinator

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_instance_config_loads_with_run_monitoring_freeing_slots(tmp_path):
    shutil.copy(ROOT / "dagster-instance.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 30
        assert instance.event_log_storage.get_pool_config().default_pool_limit == 1


def test_readme_production_config_matches_the_shipped_one():
    shipped = yaml.safe_load((ROOT / "dagster-instance.yaml").read_text())
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    production = next(yaml.safe_load(b) for b in blocks if "postgres_db" in b)
    for section in ("concurrency", "run_monitoring"):
        assert production[section] == shipped[section], section


def test_local_instance_starts_runs_at_once_and_production_keeps_the_run_queue(tmp_path):
    # Locally a launched run starts without waiting for the daemon's queue (bench/README.md);
    # README's production block sets no coordinator, so it gets Dagster's default run queue.
    shutil.copy(ROOT / "dagster-instance.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, DefaultRunCoordinator)
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    production = next(yaml.safe_load(b) for b in blocks if "postgres_db" in b)
    del production["storage"]  # the rest, on local storage
    production_home = tmp_path / "production"
    production_home.mkdir()
    (production_home / "dagster.yaml").write_text(yaml.safe_dump(production))
    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
