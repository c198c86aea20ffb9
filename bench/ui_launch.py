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

`--first-sync` measures a night that does real work, the first sync of a fresh world (issue 10's
example), instead of a no-op one. Each repetition builds two identical fresh worlds (the same
users, seed and "now"; separate data directories, DAGSTER_HOMEs, state stores and emulator states):
A is a first `make demo`, whose in-process nightly_sync pushes everything; B is built by `make demo
--no-sync` (the world and its MRR history, nothing pushed), then `make ui`'s stack starts on it and
nightly_sync is launched as above. A, then B, in every repetition; the figures are the same medians.
The bench exits with an error unless both sides did the same work: the same counts in the runs'
materialization metadata (contacts and companies created and updated, attribute values written,
lifecycle events sent) and in what each Intercom emulator then holds (`work` in the last line,
with the load average at the start and the end). `pairs` gives each repetition's two runs and
their contacts' push (the `intercom_contacts` step): a first sync makes more calls than one of
Intercom's 10-second windows allows (1,667), so whether and how long the push waits for the next
window depends on where in the window it starts, on either side. `in_process_cpu_s` then includes the emulators'
threads (they live in the `make demo` process and serve every call of the push);
launched, they run in the stack's process, not in the run worker.

    .venv/bin/python bench/ui_launch.py [--users 1000] [--repeat 3] [--first-sync]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg
import httpx

from emulators.intercom import IntercomEmulator
from orchestration.demo import INTERCOM_STATE, RUN_CONFIG
from tests.fixtures.ui_stack import UiStack, dagster_home, run_demo, ui_stack


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


@dataclass
class Launch:
    """One launch of `nightly_sync` from the UI, as a user waits for it."""

    run_id: str
    wall_s: float
    run_s: float
    phases: dict[str, float]
    cpu: dict[str, float] | None
    worker_cpu_s: float | None


def launch(stack: UiStack, instance: dg.DagsterInstance, cpu: CpuSampler, log_path: Path) -> Launch:
    """Launches `nightly_sync` with the demo's run config (the same work as `make demo`'s) and waits
    for its success."""
    started = time.time()
    run_id = stack.launch("nightly_sync", RUN_CONFIG)
    run = stack.wait_for_run(run_id, timeout_s=600)
    wall = time.time() - started
    if run["status"] != "SUCCESS":
        sys.exit(f"run {run_id} ended {run['status']}; see {log_path}")
    time.sleep(2 * cpu.interval_s)  # a sample after the end
    worker = cpu.window(run_pid(instance, run_id)[0], started, started + wall)
    done = Launch(
        run_id,
        wall,
        run["endTime"] - run["startTime"],
        phases(instance, run_id, started, started + wall),
        _cpu(cpu, instance, run_id),
        worker["cpu_s"] if worker else None,
    )
    print(f"UI launch → success {done.wall_s:.1f} s (the run itself {done.run_s:.1f} s): {done.phases}; "
          f"run CPU {done.cpu}, worker CPU from launch {done.worker_cpu_s} s")  # fmt: skip
    return done


def figures(
    users: int, in_process: list[float], baseline_cpu: list[dict[str, float] | None], launches: list[Launch]
) -> dict[str, Any]:
    """The last line's figures: medians of both sides, the ratio and the CPU accounting."""
    in_process_s, wall = statistics.median(in_process), statistics.median(run.wall_s for run in launches)
    run_cpu = [run.cpu for run in launches]
    return {
        "users": users,
        "in_process_s": round(in_process_s, 1),
        "ui_wall_s": round(wall, 1),
        "ui_run_s": round(statistics.median(run.run_s for run in launches), 1),
        "ratio": round(wall / in_process_s, 2),
        "ui_phases_s": {
            name: round(statistics.median(run.phases[name] for run in launches), 2) for name in launches[0].phases
        },
        "in_process_cpu_s": _median_of(baseline_cpu, "cpu_s"),
        "ui_run_cpu_s": _median_of(run_cpu, "cpu_s"),
        "ui_worker_cpu_s": _median([run.worker_cpu_s for run in launches]),
        "in_process_waiting_for_cpu_s": _median_of(baseline_cpu, "main_waiting_for_cpu_s"),
        "ui_run_waiting_for_cpu_s": _median_of(run_cpu, "main_waiting_for_cpu_s"),
        "in_process_blocked_s": _median_of(baseline_cpu, "main_blocked_s"),
        "ui_run_blocked_s": _median_of(run_cpu, "main_blocked_s"),
        "in_process_others_cores": _median_of(baseline_cpu, "others_cores"),
        "ui_others_cores": _median_of(run_cpu, "others_cores"),
    }


def no_op_nights(root: Path, users: int, repeat: int, cpu: CpuSampler) -> dict[str, Any]:
    """One demo world: `repeat` no-op `make demo`s, then `repeat` no-op launches from the UI."""
    home, data, log_path = dagster_home(root / "home"), root / "data", root / "log.txt"
    with log_path.open("w") as log:
        run_demo(data, home, users=users, log=log)  # the first demo pushes everything
    baseline_ids = []
    for _ in range(repeat):  # the baseline: no-op syncs in process
        with log_path.open("w") as log:
            run_demo(data, home, users=users, log=log)
        baseline_ids.append(_last_json_line(log_path)["run_id"])

    instance = dg.DagsterInstance.from_config(str(home))
    baseline_cpu = [_cpu(cpu, instance, run_id) for run_id in baseline_ids]
    with (root / "ui.log").open("w") as log, ui_stack(data, home, log) as stack:
        baseline = [stack.run(run_id) for run_id in baseline_ids]
        in_process = [run["endTime"] - run["startTime"] for run in baseline]
        print(f"in process (no-op make demo's nightly_sync): {', '.join(f'{s:.1f}' for s in in_process)} s; "
              f"CPU: {baseline_cpu}")  # fmt: skip
        print(f"load average before launching: {_load()}")
        launches = [launch(stack, instance, cpu, root / "ui.log") for _ in range(repeat)]
    return figures(users, in_process, baseline_cpu, launches)


# What a first sync pushed, from the run's materialization metadata: (asset, metadata key).
PUSHED = (
    ("intercom_contacts", "created"),
    ("intercom_contacts", "updated"),
    ("intercom_contacts", "failed"),
    ("intercom_contacts", "attributes_written"),
    ("intercom_companies", "created"),
    ("intercom_companies", "updated"),
    ("intercom_companies", "attributes_written"),
    ("intercom_lifecycle_events", "events_sent"),
)


def work_done(instance: dg.DagsterInstance, run_id: str, intercom_state: dict[str, Any]) -> dict[str, Any]:
    """What the run pushed (its metadata) and what the Intercom emulator then held."""
    pushed: dict[str, Any] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        assert materialization is not None
        for asset, key in PUSHED:
            if materialization.asset_key.path[-1] == asset and key in materialization.metadata:
                pushed[f"{asset}.{key}"] = materialization.metadata[key].value
    intercom = IntercomEmulator()
    intercom.restore_state(intercom_state)
    held = {key: value for key, value in intercom.stats().items() if key not in ("rate_limited", "versions_seen")}
    return {"pushed": pushed, "intercom_holds": held}


def intercom_url(ui_log: Path) -> str:
    """The Intercom emulator's address, from the stack's first line (`revsync ui: … (emulators: …, …)`)."""
    found = re.search(r"emulators: \S+, (\S+)\)", ui_log.read_text())
    if found is None:
        sys.exit(f"no emulator addresses in {ui_log}")
    return found[1]


PUSH_STEP = "intercom_contacts"  # the contacts' push: where a first sync meets Intercom's rate-limit window


def step_s(instance: dg.DagsterInstance, run_id: str, step: str) -> float:
    """The step's STEP_START → STEP_SUCCESS seconds in the run."""
    marks = {
        entry.dagster_event.event_type: entry.timestamp
        for entry in instance.all_logs(run_id)
        if entry.dagster_event is not None and entry.dagster_event.step_key == step
    }
    return round(marks[dg.DagsterEventType.STEP_SUCCESS] - marks[dg.DagsterEventType.STEP_START], 2)


def first_syncs(root: Path, users: int, repeat: int, cpu: CpuSampler) -> dict[str, Any]:
    """Per repetition, two identical fresh worlds: A runs its first sync in process (`make demo`), B
    is built without the sync (`make demo --no-sync`) and its first sync is launched from the UI."""
    in_process: list[float] = []
    baseline_cpu, launches, work, pairs = [], [], [], []
    for index in range(repeat):
        side_a, side_b = root / f"a{index}", root / f"b{index}"
        home_a, home_b = dagster_home(side_a / "home"), dagster_home(side_b / "home")
        with (side_a / "log.txt").open("w") as log:
            run_demo(side_a / "data", home_a, users=users, log=log)
        run_id = _last_json_line(side_a / "log.txt")["run_id"]
        instance_a = dg.DagsterInstance.from_config(str(home_a))
        _, started, ended = run_pid(instance_a, run_id)
        in_process.append(ended - started)
        baseline_cpu.append(_cpu(cpu, instance_a, run_id))
        print(f"in process (first make demo's nightly_sync): {in_process[-1]:.1f} s; CPU {baseline_cpu[-1]}")

        # The same world as A's (its spec: users, seed and "now"), its MRR history recorded, nothing synced.
        (side_b / "data").mkdir()
        shutil.copy(side_a / "data" / "demo_world.json", side_b / "data")
        with (side_b / "log.txt").open("w") as log:
            run_demo(side_b / "data", home_b, users=users, log=log, sync=False)
        instance_b = dg.DagsterInstance.from_config(str(home_b))
        with (side_b / "ui.log").open("w") as log, ui_stack(side_b / "data", home_b, log) as stack:
            launches.append(launch(stack, instance_b, cpu, side_b / "ui.log"))
            launched_state = httpx.get(f"{intercom_url(side_b / 'ui.log')}/_emulator/state", timeout=60).json()
        in_process_state = json.loads((side_a / "data" / INTERCOM_STATE).read_text())  # saved by make demo
        done = work_done(instance_a, run_id, in_process_state)
        launched = work_done(instance_b, launches[-1].run_id, launched_state)
        if done != launched or not done["pushed"].get("intercom_contacts.created"):
            sys.exit(f"the two first syncs did different work (or none): in process {done}, launched {launched}")
        work.append(done)
        pairs.append(
            {
                "in_process_s": round(in_process[-1], 1),
                "in_process_push_s": step_s(instance_a, run_id, PUSH_STEP),
                "ui_wall_s": round(launches[-1].wall_s, 1),
                "ui_run_s": round(launches[-1].run_s, 1),
                "ui_push_s": step_s(instance_b, launches[-1].run_id, PUSH_STEP),
            }
        )
        print(f"repetition {index + 1}: {pairs[-1]}")
    if any(done != work[0] for done in work):
        sys.exit(f"the repetitions did different work: {work}")
    return {"mode": "first_sync", **figures(users, in_process, baseline_cpu, launches), "work": work[0], "pairs": pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="UI launches (the median is reported)")
    parser.add_argument(
        "--first-sync", action="store_true", help="the first sync of fresh worlds (real work), not a no-op night"
    )
    args = parser.parse_args()

    start_load = _load()
    print(f"load average (1/5/15 min) at the start: {start_load}")
    # The stack's last writes may race the clean-up after it is killed; a leftover temp file is harmless.
    with (
        tempfile.TemporaryDirectory(prefix="revsync-bench-ui-", ignore_cleanup_errors=True) as tmp,
        CpuSampler().running() as cpu,
    ):
        sitting = first_syncs if args.first_sync else no_op_nights
        result = sitting(Path(tmp), args.users, args.repeat, cpu)
        end_load = _load()
        print(f"load average after: {end_load}")
    if args.first_sync:
        result |= {"load_start": start_load, "load_end": end_load}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
