"""Who holds a concurrency slot, and whether that holder is still alive. Pure: no Dagster.

A run killed with SIGKILL never releases its slot, and Dagster's default run launcher cannot tell
that its worker died, so the run stays STARTED and every later run would wait for the slot forever.
A holder is judged by its run's status and, when the run says it is still going, by its run
worker's process: on this host, a pid that is gone (or now belongs to a younger process) is dead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Verdict = Literal["finished", "dead", "live"]
HOST_TAG = "revsync/host"  # where the run's worker runs; set by the pool guard before any slot is claimed
FINISHED_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


@dataclass(frozen=True)
class SlotHolder:
    run_id: str
    step_key: str
    status: str  # DagsterRunStatus name
    job_name: str | None
    host: str | None  # the run's HOST_TAG, None when unknown
    pid: int | None  # the run worker's pid (from the run's start event)
    worker_started: float | None  # Unix time of the run's start event
    since: datetime | None  # when the step got its slot (or the run started)
    holding: bool = True  # False: only queued for a slot

    def describe(self) -> str:
        since = self.since.astimezone(UTC).isoformat(timespec="seconds") if self.since else "an unknown time"
        where = f" on {self.host} (pid {self.pid})" if self.host and self.pid else ""
        return (
            f"run {self.run_id} (job {self.job_name or '?'}, status {self.status}, step {self.step_key}{where}) "
            f"has held it since {since}"
        )


def verdict(holder: SlotHolder, this_host: str) -> Verdict:
    """`finished`: the run ended; `dead`: its worker process is gone; `live`: it may still be working.

    A worker on another host cannot be probed from here: it counts as live (run monitoring of a
    launcher with health checks, or the wait limit, deals with it).
    """
    if holder.status in FINISHED_STATUSES:
        return "finished"
    if holder.host != this_host or holder.pid is None or holder.worker_started is None:
        return "live"
    return "live" if process_alive(holder.pid, holder.worker_started) else "dead"


def process_alive(pid: int, started_by: float) -> bool:
    """Whether process `pid` exists and is the one that was running at `started_by` (Unix time).

    A pid is reused after its process dies; on Linux the process's start time tells the two apart.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    started = _process_start_time(pid)
    # A process that started after the run's worker did is a newcomer wearing a recycled pid.
    return started is None or started <= started_by + 1.0


def _process_start_time(pid: int) -> float | None:
    """Unix start time of `pid` from /proc (Linux); None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
    except (OSError, StopIteration, ValueError):
        return None
    # Field 22 (starttime, clock ticks since boot) follows the parenthesised command name.
    fields = stat.rsplit(")", 1)[1].split()
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


class PoolBusy(Exception):
    """A live run kept the pool's slot for longer than this run may wait."""

    def __init__(self, pool: str, holders: list[SlotHolder], waited_s: float) -> None:
        held = "; ".join(h.describe() for h in holders)
        super().__init__(
            f"concurrency pool {pool!r} is busy: {held}. Gave up after waiting {waited_s:.0f} s "
            "(IntercomPoolConfig.max_wait_s). If that run is really gone, terminate it in the Dagster UI "
            "(Runs → Terminate) and re-run."
        )
        self.holders = holders
