"""Slot holders: finished, dead and live runs, judged against real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

from assets.pool.holders import PoolBusy, SlotHolder, process_alive, verdict

HOST = socket.gethostname()


def _holder(status: str = "STARTED", host: str | None = HOST, pid: int | None = None) -> SlotHolder:
    return SlotHolder(
        run_id="r1",
        step_key="intercom_contacts",
        status=status,
        job_name="nightly_sync",
        host=host,
        pid=pid if pid is not None else os.getpid(),
        worker_started=time.time(),
        since=datetime(2026, 11, 27, 2, 0, 5, tzinfo=UTC),
    )


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_finished_runs_hold_nothing_whatever_their_worker():
    for status in ("SUCCESS", "FAILURE", "CANCELED"):
        assert verdict(_holder(status, pid=_dead_pid()), HOST) == "finished"


def test_a_started_run_whose_worker_is_gone_is_dead():
    assert verdict(_holder(pid=_dead_pid()), HOST) == "dead"


def test_a_started_run_with_a_running_worker_is_live():
    assert verdict(_holder(), HOST) == "live"


def test_a_worker_on_another_host_cannot_be_probed_and_counts_as_live():
    assert verdict(_holder(host="elsewhere", pid=_dead_pid()), HOST) == "live"
    assert verdict(_holder(host=None, pid=_dead_pid()), HOST) == "live"


def test_a_recycled_pid_is_not_the_old_worker():
    # This process started before now: alive for a run that started now, not for one from an hour ago.
    assert process_alive(os.getpid(), time.time())
    assert not process_alive(os.getpid(), time.time() - 3600 - time.monotonic())


def test_pool_busy_names_the_run_the_step_and_since_when():
    message = str(PoolBusy("intercom_api", [_holder()], 12.4))
    assert message.startswith(
        "concurrency pool 'intercom_api' is busy: run r1 (job nightly_sync, status STARTED, step intercom_contacts "
        f"on {HOST} (pid {os.getpid()})) has held it since 2026-11-27T02:00:05+00:00. Gave up after waiting 12 s"
    )
