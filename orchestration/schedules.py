"""Schedules. The nightly sync runs at 02:00 in REVSYNC_SCHEDULE_TIMEZONE (default UTC).

The timezone is read when the code location loads, since Dagster fixes a schedule's timezone in
its definition. Schedules start STOPPED, as Dagster's are by default: turn it on in the UI
(Automation → nightly_sync_schedule) or set REVSYNC_SCHEDULE_RUNNING=1.
"""

import os

import dagster as dg

from orchestration.jobs import nightly_sync


def nightly_sync_schedule() -> dg.ScheduleDefinition:
    running = os.environ.get("REVSYNC_SCHEDULE_RUNNING", "") == "1"
    return dg.ScheduleDefinition(
        name="nightly_sync_schedule",
        job=nightly_sync,
        cron_schedule="0 2 * * *",
        execution_timezone=os.environ.get("REVSYNC_SCHEDULE_TIMEZONE", "UTC"),
        default_status=dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED,
    )
