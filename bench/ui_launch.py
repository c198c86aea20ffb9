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

CPU (Linux, from /proc, sampled every 0.2 s all through the bench), so that a slow figure can be
told apart from a busy machine: `*_cpu_s` is the CPU time of the run's own process between its
start and end (the `make demo` process in process; the run worker when launched, whose start-up is
in `ui_worker_cpu_s`), and `*_others_cores` is how many cores everything else on the machine kept
busy meanwhile (out of `os.cpu_count()`): other sessions' jobs, the webserver, the daemon, the
emulators. The ratio itself is wall time, as a user waits.

    .venv/bin/python bench/ui_launch.py [--users 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg

from orchestration.demo import RUN_CONFIG
from tests.fixtures.ui_stack import dagster_home, run_demo, ui_stack


def _last_json_line(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text().strip().splitlines()[-1]))


WORKER_UP = "Started process"  # the run worker's first event
PROC = Path("/proc")


class CpuSampler:
    """The machine's busy CPU time and each process's CPU time, read from /proc every `interval_s`.

    Each sample keeps only the processes whose CPU time moved since the last one (a few dozen, not
    every process on the machine), with their main thread's scheduler figures (/proc/<pid>/schedstat:
    time on a CPU, time runnable but waiting for one). Without /proc (not Linux) it records nothing
    and reports None.
    """

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self.ticks = os.sysconf("SC_CLK_TCK")
        # (time, machine busy s, {pid: (process CPU s, main thread on-CPU s, main thread runnable-waiting s)})
        self.samples: list[tuple[float, float, dict[int, tuple[float, float, float]]]] = []
        self._last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def _machine_busy(self) -> float:
        fields = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(fields) - fields[3] - fields[4]) / self.ticks  # all but idle and iowait

    def _sample(self) -> None:
        moved: dict[int, tuple[float, float, float]] = {}
        for entry in PROC.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                pid, jiffies = int(entry.name), int(fields[11]) + int(fields[12])  # utime + stime
                if jiffies == self._last.get(pid):
                    continue
                on_cpu_ns, waiting_ns = (int(v) for v in (entry / "schedstat").read_text().split()[:2])
            except (OSError, ValueError):  # gone meanwhile
                continue
            moved[pid] = (jiffies / self.ticks, on_cpu_ns / 1e9, waiting_ns / 1e9)
            self._last[pid] = jiffies
        self.samples.append((time.time(), self._machine_busy(), moved))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    @contextmanager
    def running(self) -> Iterator[CpuSampler]:
        if (PROC / "stat").exists():
            self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            if self._thread.is_alive():
                self._thread.join()

    def window(self, pid: int, start: float, end: float) -> dict[str, float] | None:
        """Between `start` and `end`: `pid`'s CPU seconds (all threads); its main thread's seconds on a
        CPU, runnable but waiting for a CPU, and neither (blocked: I/O, locks, sleeps, replies); and
        the cores everything else on the machine kept busy."""
        inside = [sample for sample in self.samples if start <= sample[0] <= end]
        if len(inside) < 2:
            return None
        # The process's figures as of the window's first sample (zeros if it had not run yet), then its last.
        first, last = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
        for when, _, moved in self.samples:
            if when > inside[-1][0]:
                break
            if pid in moved:
                last = moved[pid]
                if when <= inside[0][0]:
                    first = last
        cpu, on_cpu, waiting = (b - a for a, b in zip(first, last, strict=True))
        seconds = inside[-1][0] - inside[0][0]
        machine = inside[-1][1] - inside[0][1]
        return {
            "cpu_s": round(cpu, 2),
            "main_on_cpu_s": round(on_cpu, 2),
            "main_waiting_for_cpu_s": round(waiting, 2),
            "main_blocked_s": round(max(seconds - on_cpu - waiting, 0.0), 2),
            "others_cores": round(max(machine - cpu, 0.0) / seconds, 2),
        }


def run_pid(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float, float]:
    """The run's process (from its start event) and the run's start and end times."""
    start = next(iter(instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)))
    record = instance.get_run_record_by_id(run_id)
    assert start.dagster_event is not None and start.dagster_event.pid is not None and record is not None
    assert record.end_time is not None
    return start.dagster_event.pid, start.timestamp, record.end_time


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


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return round(statistics.median(known), 2) if known else None


def _median_of(windows: list[dict[str, float] | None], key: str) -> float | None:
    return _median([window[key] if window else None for window in windows])


def _cpu(cpu: CpuSampler, instance: dg.DagsterInstance, run_id: str) -> dict[str, float] | None:
    pid, start, end = run_pid(instance, run_id)
    return cpu.window(pid, start, end)


def _load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="UI launches (the median is reported)")
    args = parser.parse_args()

    print(f"load average (1/5/15 min) at the start: {_load()}")
    # The stack's last writes may race the clean-up after it is killed; a leftover temp file is harmless.
    with (
        tempfile.TemporaryDirectory(prefix="revsync-bench-ui-", ignore_cleanup_errors=True) as tmp,
        CpuSampler().running() as cpu,
    ):
        root = Path(tmp)
        home, data, log_path = dagster_home(root / "home"), root / "data", root / "log.txt"
        with log_path.open("w") as log:
            run_demo(data, home, users=args.users, log=log)  # the first demo pushes everything
        baseline_ids = []
        for _ in range(args.repeat):  # the baseline: no-op syncs in process
            with log_path.open("w") as log:
                run_demo(data, home, users=args.users, log=log)
            baseline_ids.append(_last_json_line(log_path)["run_id"])

        instance = dg.DagsterInstance.from_config(str(home))
        baseline_cpu = [_cpu(cpu, instance, run_id) for run_id in baseline_ids]
        with (root / "ui.log").open("w") as log, ui_stack(data, home, log) as stack:
            baseline = [stack.run(run_id) for run_id in baseline_ids]
            in_process = [run["endTime"] - run["startTime"] for run in baseline]
            in_process_s = statistics.median(in_process)
            print(f"in process (no-op make demo's nightly_sync): {', '.join(f'{s:.1f}' for s in in_process)} s; "
                  f"CPU: {baseline_cpu}")  # fmt: skip
            print(f"load average before launching: {_load()}")
            walls, durations, splits, run_cpu, worker_cpu = [], [], [], [], []
            for _ in range(args.repeat):
                started = time.time()
                run_id = stack.launch("nightly_sync", RUN_CONFIG)  # the demo's own run config: the same work
                run = stack.wait_for_run(run_id, timeout_s=600)
                walls.append(time.time() - started)
                if run["status"] != "SUCCESS":
                    sys.exit(f"run {run_id} ended {run['status']}; see {root / 'ui.log'}")
                durations.append(run["endTime"] - run["startTime"])
                splits.append(phases(instance, run_id, started, started + walls[-1]))
                time.sleep(2 * cpu.interval_s)  # a sample after the end
                run_cpu.append(_cpu(cpu, instance, run_id))
                worker = cpu.window(run_pid(instance, run_id)[0], started, started + walls[-1])
                worker_cpu.append(worker["cpu_s"] if worker else None)
                print(f"UI launch → success {walls[-1]:.1f} s (the run itself {durations[-1]:.1f} s): {splits[-1]}; "
                      f"run CPU {run_cpu[-1]}, worker CPU from launch {worker_cpu[-1]} s")  # fmt: skip
            print(f"load average after: {_load()}")
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
                "in_process_cpu_s": _median_of(baseline_cpu, "cpu_s"),
                "ui_run_cpu_s": _median_of(run_cpu, "cpu_s"),
                "ui_worker_cpu_s": _median(worker_cpu),
                "in_process_waiting_for_cpu_s": _median_of(baseline_cpu, "main_waiting_for_cpu_s"),
                "ui_run_waiting_for_cpu_s": _median_of(run_cpu, "main_waiting_for_cpu_s"),
                "in_process_blocked_s": _median_of(baseline_cpu, "main_blocked_s"),
                "ui_run_blocked_s": _median_of(run_cpu, "main_blocked_s"),
                "in_process_others_cores": _median_of(baseline_cpu, "others_cores"),
                "ui_others_cores": _median_of(run_cpu, "others_cores"),
            }
        )
    )


if __name__ == "__main__":
    main()
