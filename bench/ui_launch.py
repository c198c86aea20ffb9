"""`nightly_sync` launched from the UI against the same run in process, in one sitting.

Builds the demo (`make demo`, then `--repeat` more no-op `make demo`s whose in-process
nightly_sync runs are the baseline), starts `make ui`'s stack on free ports and launches
`nightly_sync` through the webserver's GraphQL API (what the Launch button sends), `--repeat`
times, with the demo's run config. Each launched run is a no-op sync like the baseline (the demo
already pushed everything).

Figures: `in_process_s` is the baseline runs' median duration (Dagster's start to end);
`ui_wall_s` is launch → success as a user waits for it (queueing, run worker start-up and all;
the median), and `ratio` is ui_wall_s / in_process_s (target ≤ 1.5). `ui_phases_s` splits the
median launch by the run's own events:
- submit: the Launch request until the run is queued (launched, when there is no run queue);
- queue: until the daemon dequeues and launches it (0 without a run queue);
- worker_start: until the run worker's process is up (a new Python process importing Dagster);
- definitions: until the run starts (importing the definitions, planning the job);
- run: the run itself; finish: from its success until the poller sees it.

    .venv/bin/python bench/ui_launch.py [--users 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg

from orchestration.demo import RUN_CONFIG
from tests.fixtures.ui_stack import dagster_home, run_demo, ui_stack


def _last_json_line(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text().strip().splitlines()[-1]))


WORKER_UP = "Started process"  # the run worker's first event


def phases(instance: dg.DagsterInstance, run_id: str, launched_at: float, seen_at: float) -> dict[str, float]:
    """Seconds spent in each phase of a launched run, from its event log (wall-clock timestamps)."""
    marks: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        # The worker's "Started process" line is an engine event like many others: told by its text.
        if entry.message.startswith(WORKER_UP):
            mark: str | None = WORKER_UP
        else:
            mark = entry.dagster_event.event_type.value if entry.dagster_event else None
        if mark is not None:
            marks.setdefault(mark, entry.timestamp)
    starting = marks[dg.DagsterEventType.RUN_STARTING.value]
    queued = marks.get(dg.DagsterEventType.RUN_ENQUEUED.value, starting)  # no run queue: no RUN_ENQUEUED
    worker_up, started = marks[WORKER_UP], marks[dg.DagsterEventType.RUN_START.value]
    succeeded = marks[dg.DagsterEventType.RUN_SUCCESS.value]
    spans = {
        "submit": queued - launched_at,
        "queue": starting - queued,
        "worker_start": worker_up - starting,
        "definitions": started - worker_up,
        "run": succeeded - started,
        "finish": seen_at - succeeded,
    }
    return {name: round(seconds, 2) for name, seconds in spans.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="UI launches (the median is reported)")
    args = parser.parse_args()

    # The stack's last writes may race the clean-up after it is killed; a leftover temp file is harmless.
    with tempfile.TemporaryDirectory(prefix="revsync-bench-ui-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        home, data, log_path = dagster_home(root / "home"), root / "data", root / "log.txt"
        with log_path.open("w") as log:
            run_demo(data, home, users=args.users, log=log)  # the first demo pushes everything
        baseline_ids = []
        for _ in range(args.repeat):  # the baseline: no-op syncs in process
            with log_path.open("w") as log:
                run_demo(data, home, users=args.users, log=log)
            baseline_ids.append(_last_json_line(log_path)["run_id"])

        with (root / "ui.log").open("w") as log, ui_stack(data, home, log) as stack:
            baseline = [stack.run(run_id) for run_id in baseline_ids]
            in_process = [run["endTime"] - run["startTime"] for run in baseline]
            in_process_s = statistics.median(in_process)
            print(f"in process (no-op make demo's nightly_sync): {', '.join(f'{s:.1f}' for s in in_process)} s")
            print(f"load before launching: {os.getloadavg()[0]:.2f}")
            walls, durations, splits = [], [], []
            instance = dg.DagsterInstance.from_config(str(home))
            for _ in range(args.repeat):
                started = time.time()
                run_id = stack.launch("nightly_sync", RUN_CONFIG)  # the demo's own run config: the same work
                run = stack.wait_for_run(run_id, timeout_s=600)
                walls.append(time.time() - started)
                if run["status"] != "SUCCESS":
                    sys.exit(f"run {run_id} ended {run['status']}; see {root / 'ui.log'}")
                durations.append(run["endTime"] - run["startTime"])
                splits.append(phases(instance, run_id, started, started + walls[-1]))
                print(f"UI launch → success {walls[-1]:.1f} s (the run itself {durations[-1]:.1f} s): {splits[-1]}")
            print(f"load after: {os.getloadavg()[0]:.2f}")
    wall = statistics.median(walls)
    median_split = {name: round(statistics.median(split[name] for split in splits), 2) for name in splits[0]}
    print(
        json.dumps(
            {
                "users": args.users,
                "in_process_s": round(in_process_s, 1),
                "ui_wall_s": round(wall, 1),
                "ui_run_s": round(statistics.median(durations), 1),
                "ratio": round(wall / in_process_s, 2),
                "ui_phases_s": median_split,
            }
        )
    )


if __name__ == "__main__":
    main()
