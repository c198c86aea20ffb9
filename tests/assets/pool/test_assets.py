"""The pool guard against a real Dagster instance: dead holders are freed, live ones waited for, then named."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent

from assets.pool.assets import POOL, IntercomPoolConfig, clear_pool
from assets.pool.holders import HOST_TAG, PoolBusy

LOG = logging.getLogger("pool-test")


@pytest.fixture
def instance():
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default(POOL)  # what a run's executor does
        yield instance


def _holding_run(instance: dg.DagsterInstance, pid: int) -> str:
    """A STARTED nightly_sync run whose worker is `pid` on this host, holding the pool's slot."""
    run = instance.add_run(
        dg.DagsterRun(
            job_name="nightly_sync", status=dg.DagsterRunStatus.STARTED, tags={HOST_TAG: socket.gethostname()}
        )
    )
    start = DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name="nightly_sync", pid=pid)
    instance.report_dagster_event(start, run.run_id)
    assert instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "intercom_contacts").is_claimed
    return run.run_id


def test_a_dead_holder_is_failed_and_its_slot_freed(instance):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = _holding_run(instance, child.pid)

    freed, _ = clear_pool(instance, POOL, "next-run", IntercomPoolConfig(max_wait_s=0), LOG)

    assert freed == [dead]
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []
    assert instance.event_log_storage.claim_concurrency_slot(POOL, "next-run", "intercom_contacts").is_claimed


def test_a_live_holder_is_waited_for_then_named(instance):
    live = _holding_run(instance, os.getpid())

    with pytest.raises(PoolBusy) as raised:
        clear_pool(instance, POOL, "next-run", IntercomPoolConfig(max_wait_s=0.3, poll_s=0.1), LOG)

    message = str(raised.value)
    assert f"run {live} (job nightly_sync, status STARTED, step intercom_contacts on " in message
    assert "has held it since 20" in message and re.search(r"Gave up after waiting \d+ s", message)
    assert instance.get_run_by_id(live).status == dg.DagsterRunStatus.STARTED  # a live run is never touched


def test_a_finished_holder_is_freed_without_touching_its_status(instance):
    run_id = _holding_run(instance, os.getpid())
    instance.report_run_failed(instance.get_run_by_id(run_id), "ended elsewhere")

    freed, _ = clear_pool(instance, POOL, "next-run", IntercomPoolConfig(max_wait_s=0), LOG)

    assert freed == [run_id] and instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []


def test_without_waiting_a_live_holder_is_left_to_the_step(instance):
    live = _holding_run(instance, os.getpid())

    freed, waited = clear_pool(instance, POOL, "next-run", IntercomPoolConfig(max_wait_s=60), LOG, wait=False)

    assert (freed, waited < 1) == ([], True)  # stripe_api_pool: stripe_snapshot waits for its slot itself
    assert instance.get_run_by_id(live).status == dg.DagsterRunStatus.STARTED
