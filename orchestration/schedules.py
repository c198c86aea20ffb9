"""Schedules. The nightly sync runs at 02:00 in REVSYNC_SCHEDULE_TIMEZONE (default UTC).

The timezone is read when the code location loads, since Dagster fixes a schedule's timezone in
its definition. Schedules start STOPPED, as Dagster's are by default: turn it on in the UI
(Automation → nightly_sync_schedule) or set REVSYNC_SCHEDULE_RUNNING=1.
"""

import os
from typing import TYPE_CHECKING

import dagster as dg

from orchestration.jobs import mrr_history, nightly_sync
from resources.setting_checks import timezone

if TYPE_CHECKING:  # what Dagster builds for an asset job's partitioned schedule (not exported by name)
    from dagster._core.definitions.partitions.partitioned_schedule import (
        UnresolvedPartitionedAssetScheduleDefinition,
    )


def _default_status() -> dg.DefaultScheduleStatus:
    running = os.environ.get("REVSYNC_SCHEDULE_RUNNING", "") == "1"
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def nightly_sync_schedule() -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="nightly_sync_schedule",
        job=nightly_sync,
        cron_schedule="0 2 * * *",
        description="The nightly sync at 02:00 in REVSYNC_SCHEDULE_TIMEZONE (default UTC).",
        execution_timezone=timezone("REVSYNC_SCHEDULE_TIMEZONE", os.environ.get("REVSYNC_SCHEDULE_TIMEZONE", "UTC")),
        default_status=_default_status(),
    )


def mrr_history_schedule() -> "dg.ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition":
    """At 01:30 UTC, the day that just ended (history days are UTC days)."""
    return dg.build_schedule_from_partitioned_job(
        mrr_history,
        description="MRR history for the UTC day that just ended, at 01:30 UTC.",
        hour_of_day=1,
        minute_of_hour=30,
        default_status=_default_status(),
    )
