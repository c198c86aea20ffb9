"""A run killed with SIGKILL keeps its concurrency slot (mid-push `intercom_api`, in the Stripe
snapshot `stripe_api`); the next run frees it and completes.

Before the pool guards, the next nightly_sync waited for that slot forever (after
contact_attributes, or at its first step, stripe_snapshot).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from assets.pool.assets import POOL, STRIPE_POOL
from emulators.http import EmulatorApp
from tests.e2e.harness import SyncWorld, sync_world

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DAGSTER_YAML = "concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n"

CHILD = """
import sys
import dagster as dg
from orchestration.definitions import defs
from tests.e2e.harness import sync_resources

resources = sync_resources(*sys.argv[1:4])
defs.resolve_job_def("nightly_sync").execute_in_process(resources=resources, instance=dg.DagsterInstance.get())
"""


def _instance_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return home


def _run_with_deadline(env, instance: dg.DagsterInstance, seconds: float) -> dg.ExecuteInProcessResult:
    """The run in a thread, so a hang fails the test instead of stalling the suite."""
    results: list[dg.ExecuteInProcessResult] = []
    thread = threading.Thread(target=lambda: results.append(env.run(instance=instance)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert results, f"nightly_sync did not finish within {seconds} s (waiting for a slot of a dead run?)"
    return results[0]


def _kill_when(env: SyncWorld, home: Path, app: EmulatorApp, reached: Callable[[], bool]) -> None:
    """Start nightly_sync in a child process with `app` slowed down; SIGKILL it once `reached()`."""
    app.latency_ms = (20.0, 40.0)  # slow enough for the kill to land where `reached` says
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, env.stripe.url, env.intercom.url, env.warehouse_url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(home)},
    )
    deadline = time.monotonic() + 120
    while not reached():
        assert child.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    app.wait_idle()
    app.latency_ms = (0.0, 0.0)


@dataclass(frozen=True)
class KillPoint:
    """Where the first run is killed: which emulator slows down, when to kill, whose slot it keeps."""

    pool: str
    guard: str  # the asset that frees the pool's slots of dead runs
    emulator: Callable[[SyncWorld], EmulatorApp]
    reached: Callable[[SyncWorld], bool]
    deadline_s: float


KILL_POINTS = {
    "mid_push": KillPoint(
        POOL,
        "intercom_api_pool",
        lambda env: env.intercom_app,
        lambda env: env.intercom_app.stats()["contacts"] >= 20,
        deadline_s=240,
    ),
    "in_stripe_snapshot": KillPoint(
        STRIPE_POOL,
        "stripe_api_pool",
        lambda env: env.stripe_app,
        lambda env: env.stripe_app.counters["total"] >= 2,  # stripe_snapshot is the first caller
        deadline_s=120,
    ),
}


@pytest.mark.parametrize("point", KILL_POINTS.values(), ids=KILL_POINTS.keys())
def test_a_run_killed_holding_a_pool_slot_does_not_block_the_next_run(tmp_path, point: KillPoint):
    home = _instance_home(tmp_path)
    warehouse_url = f"sqlite:///{tmp_path}/warehouse.db"
    with sync_world(warehouse_url, users=120) as env:
        _kill_when(env, home, point.emulator(env), lambda: point.reached(env))

        with dg.DagsterInstance.from_config(str(home)) as instance:
            killed = [r for r in instance.get_runs() if r.status == dg.DagsterRunStatus.STARTED]
            assert len(killed) == 1
            assert instance.event_log_storage.get_concurrency_info(point.pool).claimed_slots  # the dead run's

            result = _run_with_deadline(env, instance, seconds=point.deadline_s)

            assert result.success
            assert instance.get_run_by_id(killed[0].run_id).status == dg.DagsterRunStatus.FAILURE
            freed = result.asset_materializations_for_node(point.guard)[0].metadata["freed_runs"].value
            assert freed == [killed[0].run_id]
            assert not instance.event_log_storage.get_concurrency_info(point.pool).claimed_slots
        assert env.intercom_app.stats()["contacts"] == env.world.users  # nothing duplicated, nothing missing
