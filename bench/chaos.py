"""Chaos harness: faults on every Intercom call, then SIGKILL of whole nightly_sync runs.

    .venv/bin/python bench/chaos.py [--contacts 10000] [--kills 20] [--users 300] [--seed 7]

Part 1 pushes `--contacts` synthetic contacts (and their companies) through the Intercom emulator
with 10 % 429 (bare: no rate-limit headers), 2 % 5xx, 1 % dropped connections and 1 % timeouts,
re-running until nothing fails, and checks Intercom holds exactly the desired contacts.
Part 2 builds a demo world (scripted Stripe histories, so lifecycle events flow), runs
`nightly_sync` once undisturbed against fresh emulators as the reference, then against the chaos
emulators kills the whole run process with SIGKILL at `--kills` random moments (ingest, push,
event sending), re-running after each, and finally lets one run finish. Emulators live in this
process, as the real services outlive a crashed run; every run shares one DAGSTER_HOME, so the
pool guards (`intercom_api_pool`, `stripe_api_pool`) have to heal the slots the killed runs keep.

The last line is JSON: faults_injected, kills, final_state_exact, duplicates, lost_events,
doubled_events (events stored twice; Intercom de-duplicates resends, which are counted as
event_resends), hung_runs (runs that did not end, or reach their kill target, within
--run-timeout; each is killed) and hung_in (the steps each was in). final_state_exact and
lost_events are null when the final run did not succeed: what it never sent is not a crash's loss
(part 2's events_missing_after_final_run still counts it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402
import stripe  # noqa: E402

from assets.attributes.catalog import catalog  # noqa: E402
from assets.push.plan import CUSTOM, contact_fields, desired_values  # noqa: E402
from assets.push.runner import PushOptions  # noqa: E402
from assets.push.service import sync_intercom  # noqa: E402
from emulators.demo_world.histories import history_start, script_histories  # noqa: E402
from emulators.demo_world.stripe_world import stripe_objects  # noqa: E402
from emulators.demo_world.warehouse_writer import write_warehouse  # noqa: E402
from emulators.demo_world.world import build_world  # noqa: E402
from emulators.http import EmulatorServer, FaultRule  # noqa: E402
from emulators.intercom import IntercomEmulator  # noqa: E402
from emulators.stripe import StripeEmulator  # noqa: E402
from orchestration.demo import CATALOG, RUN_CONFIG  # noqa: E402
from resources.intercom.resource import IntercomResource  # noqa: E402
from resources.state.store import StateStore  # noqa: E402
from tests.fixtures.synthetic import synthetic_frames  # noqa: E402

TOKEN, STRIPE_KEY = "chaos-token", "sk_test_chaos"
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
log = logging.getLogger("bench.chaos")
FAULTS = [  # first matching rule that fires wins; probabilities are of all calls
    FaultRule(kind="malformed", status=429, times=None, probability=0.10),
    FaultRule(kind="status", status=503, times=None, probability=0.02 / 0.90),
    FaultRule(kind="drop", times=None, probability=0.01 / 0.88),
    FaultRule(kind="timeout", seconds=2.5, times=None, probability=0.01 / 0.87),
]

CHILD = """
import json, sys
import dagster as dg
from orchestration.definitions import defs
from orchestration.environments import DEMO_FX_RATES, EmulatorAccess, emulator_resources
from resources.intercom.resource import IntercomResource
from resources.settings import SyncSettings
from tests.e2e.harness import SMALL_WORLD_CHECKS

stripe_url, intercom_url, warehouse_url, as_of, run_config, stripe_key, token = sys.argv[1:8]
resources = emulator_resources(
    EmulatorAccess(stripe_url, stripe_key, intercom_url, token),
    warehouse_url=warehouse_url,
    settings=SyncSettings(as_of=as_of, fx_rates=DEMO_FX_RATES),
    stripe_requests_per_second=200,
)
resources["checks"] = SMALL_WORLD_CHECKS  # the world plants 4 unmatched customers, too many for a small one
resources["intercom"] = IntercomResource(access_token=token, base_url=intercom_url, timeout_s=2.0, backoff_base_s=0.05)
print("ready", flush=True)  # started ahead, imports done: the run begins when the harness says go
sys.stdin.readline()
result = defs.resolve_job_def("nightly_sync").execute_in_process(
    resources=resources, run_config=json.loads(run_config), instance=dg.DagsterInstance.get(), raise_on_error=False
)
print(json.dumps({"success": result.success}), flush=True)
"""


def _faults_injected(app: IntercomEmulator, before: Counter[str]) -> int:
    return sum(v for k, v in (app.counters - before).items() if k.endswith(" fault"))


def _counting_drops(app: IntercomEmulator) -> list[int]:
    """Drops and timeouts never reach the response counters: count them where the fault is picked."""
    dropped = [0]
    pick = app._pick_fault

    def counted(method: str, path: str) -> FaultRule | None:
        fault = pick(method, path)
        if fault is not None and fault.kind in ("drop", "timeout"):
            dropped[0] += 1
        return fault

    app._pick_fault = counted  # type: ignore[method-assign]
    return dropped


def part1_faulty_push(contacts_n: int, workdir: Path) -> dict[str, Any]:
    # Every Intercom response carries rate-limit headers; a limit far above what this push can use
    # keeps them (without any, the pacer never learns the limit and probes one call at a time).
    app = IntercomEmulator(access_tokens={TOKEN}, rate_limit_per_minute=6_000_000)
    dropped = _counting_drops(app)
    contacts, companies = synthetic_frames(contacts_n, users_per_account=5)
    store = StateStore(f"sqlite:///{workdir / 'part1.db'}")
    store.create_all()
    runs = 0
    with EmulatorServer(app) as server:
        app.add_faults(*FAULTS)
        before = Counter(app.counters)
        resource = IntercomResource(access_token=TOKEN, base_url=server.url, timeout_s=2.0, backoff_base_s=0.05)
        while True:
            runs += 1

            async def push(run_id: str) -> Any:
                async with resource.open_client() as client:
                    opts = PushOptions(max_error_rate=1.0)
                    return await sync_intercom(client, store, contacts, companies, catalog(), opts, run_id, log)

            result = asyncio.run(push(f"chaos-{runs}"))
            if (not result.contacts.errors and not result.companies.errors) or runs >= 5:
                break
        app.clear_faults()
        faults = _faults_injected(app, before) + dropped[0]
        pushed = app.contacts_by_external_id()
        desired = desired_values(contacts, "external_id", contact_fields(catalog()))
        exact = set(pushed) == set(desired.index) and all(
            pushed[key]["custom_attributes"]
            == {k.removeprefix(CUSTOM): v for k, v in row.items() if k.startswith(CUSTOM) and v is not None}
            for key, row in desired.iterrows()
        )
        stats = app.stats()
    return {
        "faults_injected": faults,
        "runs": runs,
        "exact": exact,
        "duplicates": stats["contacts"] - len(pushed) + stats["companies"] - len(app.companies_by_company_id()),
    }


def _world(users: int, seed: int, workdir: Path, name: str) -> tuple[StripeEmulator, str, str]:
    """Stripe emulator with the world's scripted histories, and the world's warehouse."""
    world = build_world(users, seed, as_of=AS_OF)
    warehouse_url = f"sqlite:///{workdir / f'{name}.db'}"
    write_warehouse(world, warehouse_url)
    objects = stripe_objects(world)
    app = StripeEmulator(now=history_start(world))
    app.load({kind: objects[kind] for kind in CATALOG})
    with EmulatorServer(app) as server:
        app.configure(rate_limit=None)
        script_histories(app, stripe.StripeClient(STRIPE_KEY, base_addresses={"api": server.url}), world)
    app.set_clock(int(AS_OF.timestamp()))
    app.load({kind: rows for kind, rows in objects.items() if kind not in CATALOG})
    return app, warehouse_url, AS_OF.isoformat()


def _start(stripe_url: str, intercom_url: str, warehouse_url: str, as_of: str, home: Path) -> subprocess.Popen[bytes]:
    """A nightly_sync process that imports and builds its resources, then waits for `_go`."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            stripe_url,
            intercom_url,
            warehouse_url,
            as_of,
            json.dumps(RUN_CONFIG),
            STRIPE_KEY,
            TOKEN,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(home)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def _go(child: subprocess.Popen[bytes]) -> float:
    """Start the run once the child's imports are done; returns when it started (monotonic)."""
    assert child.stdin is not None and child.stdout is not None
    if child.stdout.readline().strip() != b"ready":
        raise RuntimeError(f"the nightly_sync process exited with {child.wait()} before its run")
    child.stdin.write(b"go\n")
    child.stdin.close()
    return time.monotonic()


def _succeeded(child: subprocess.Popen[bytes]) -> bool:
    """Whether an ended run said it succeeded (a killed run says nothing)."""
    assert child.stdout is not None
    lines = child.stdout.read().decode().strip().splitlines()
    return bool(lines) and json.loads(lines[-1]).get("success") is True


def _newest_run_steps(home: Path) -> tuple[str | None, dict[str, list[float]]]:
    """The newest run of `home` and, per step it started, [start, end] (end 0.0 while it runs)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return None, {}
        steps: dict[str, list[float]] = {}
        for entry in instance.all_logs(runs[0].run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                steps[event.step_key] = [entry.timestamp, 0.0]
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                steps.setdefault(event.step_key, [entry.timestamp, 0.0])[1] = entry.timestamp
    return runs[0].run_id, steps


def _wait_for_step(
    child: subprocess.Popen[bytes], home: Path, after_run: str | None, step: str, timeout: float
) -> bool:
    """True once the run started after `after_run` has begun `step` (or the process has ended);
    False when it is still going after `timeout` s without reaching it (stuck: a hung run)."""
    deadline = time.monotonic() + timeout
    while child.poll() is None:
        run_id, steps = _newest_run_steps(home)
        if run_id != after_run and step in steps:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _killed_in(home: Path) -> str:
    """Where a kill landed: the step(s) the newest run had started and not finished."""
    _, steps = _newest_run_steps(home)
    running = [key for key, (_, end) in steps.items() if not end]
    if running:
        return "+".join(running)
    return f"after {max(steps, key=lambda key: steps[key][1])}" if steps else "before the first step"


def _stuck_in(home: Path) -> str:
    """Where a hung run is: as `_killed_in`, and the steps it has queued for a pool's slot."""
    run_id, _ = _newest_run_steps(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        waiting = [
            f"{step.step_key} waiting for a {pool} slot"
            for pool in sorted(storage.get_concurrency_keys())
            for step in storage.get_concurrency_info(pool).pending_steps
            if step.run_id == run_id and step.assigned_timestamp is None
        ]
    return "+".join([_killed_in(home), *waiting])


def _events(app: IntercomEmulator) -> Counter[tuple[str, str, int]]:
    ids = {c["id"]: key for key, c in app.contacts_by_external_id().items()}
    return Counter(
        (ids.get(cid, cid), e["event_name"], e["created_at"]) for cid, evs in app.events.by_contact.items() for e in evs
    )


def part2_kills(users: int, kills: int, seed: int, run_timeout: float, workdir: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    home = workdir / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster-instance.yaml").read_text())
    hung = 0

    # Reference: one undisturbed run on its own emulators. Its steps are the kill targets, in turn,
    # each killed at a random moment of the time it took there (ingest, the push, event sending).
    ref_stripe, ref_wh, as_of = _world(users, seed, workdir, "reference")
    ref_intercom = IntercomEmulator(access_tokens={TOKEN})
    ref_home = workdir / "reference_home"
    ref_home.mkdir()
    with EmulatorServer(ref_stripe) as s, EmulatorServer(ref_intercom) as i:
        child = _start(s.url, i.url, ref_wh, as_of, ref_home)
        started = _go(child)
        child.wait(run_timeout)
        duration = time.monotonic() - started
        if not _succeeded(child):
            raise RuntimeError("the undisturbed reference run failed")
        spans = {step: end - start for step, (start, end) in _newest_run_steps(ref_home)[1].items()}
    targets = list(spans)
    rng.shuffle(targets)

    stripe_app, warehouse_url, _ = _world(users, seed, workdir, "chaos")
    intercom = IntercomEmulator(access_tokens={TOKEN})
    resends = [0]
    record = intercom.events.record

    def counted(*args: Any) -> bool:
        stored = record(*args)
        resends[0] += not stored
        return stored

    intercom.events.record = counted  # type: ignore[method-assign]
    done, finished, failed = 0, 0, 0
    killed_in: Counter[str] = Counter()
    hung_in: Counter[str] = Counter()  # where each hung run was stuck (steps started, not ended)

    def hung_run(child: subprocess.Popen[bytes]) -> None:
        nonlocal hung
        hung += 1
        hung_in[_stuck_in(home)] += 1
        os.kill(child.pid, signal.SIGKILL)
        child.wait()  # gone before the emulators' state is read
        intercom.wait_idle()

    with EmulatorServer(stripe_app) as s, EmulatorServer(intercom) as i:
        upcoming = _start(s.url, i.url, warehouse_url, as_of, home)
        while done < kills and finished + hung <= 3 * kills:  # bounded: a target no re-run reaches ends it
            child, target = upcoming, targets[done % len(targets)]
            previous_run, _ = _newest_run_steps(home)
            started = _go(child)
            # The next process imports while this run works, so a cycle costs the run, not a start-up.
            upcoming = _start(s.url, i.url, warehouse_url, as_of, home)
            try:  # a kill at a random moment of the target step, as long as it took undisturbed ...
                if not _wait_for_step(child, home, previous_run, target, run_timeout):
                    hung_run(child)  # e.g. waiting for a slot a killed run kept: never a kill target
                    continue
                child.wait(rng.uniform(0, spans[target]))
                finished += 1  # ... unless this re-run had less left to do and ended first
                failed += not _succeeded(child)
            except subprocess.TimeoutExpired:
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
                intercom.wait_idle()
                done += 1
                killed_in[_killed_in(home)] += 1
                log.info("kill %d after %.1f s of the run", done, time.monotonic() - started)
        final = upcoming
        _go(final)
        try:
            final.wait(run_timeout)
            final_ok = _succeeded(final)
            failed += not final_ok
        except subprocess.TimeoutExpired:
            hung_run(final)
            final_ok = False
        want, got = ref_intercom.contacts_by_external_id(), intercom.contacts_by_external_id()

        def shape(c: dict[str, Any]) -> tuple[Any, ...]:
            return (
                c["email"],
                c["name"],
                json.dumps(c["custom_attributes"], sort_keys=True),
                len(c["companies"]["data"]),
            )

        exact = set(want) == set(got) and all(shape(want[k]) == shape(got[k]) for k in want)
        ref_events, events = _events(ref_intercom), _events(intercom)
        stats = intercom.stats()
    # Only a final run that succeeded shows what a crash lost: after a hung or failed one, what it
    # never got to send is missing too, and would be counted as lost (null: not measured).
    return {
        "kills": done,
        "killed_in": dict(killed_in.most_common()),
        "final_run_succeeded": final_ok,
        "exact": exact if final_ok else None,
        "duplicates": stats["contacts"] - len(got),
        "lost_events": sum((ref_events - events).values()) if final_ok else None,
        "events_missing_after_final_run": sum((ref_events - events).values()),
        "doubled_events": sum(n - 1 for n in events.values() if n > 1),
        "event_resends": resends[0],
        "events": sum(events.values()),
        "hung_runs": hung,
        "hung_in": dict(hung_in.most_common()),
        "failed_runs": failed,  # re-runs that ended (not killed) without success
        "finished_runs": finished + 1,
        "undisturbed_run_s": round(duration, 1),
    }


def _timed(part: Any, *args: Any) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        result: dict[str, Any] = part(*args, Path(tmp))
    return {**result, "seconds": round(time.monotonic() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--run-timeout", type=float, default=300.0)
    parser.add_argument("--part", choices=["both", "faults", "kills"], default="both", help="one part alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.part == "faults":
        print(json.dumps(_timed(part1_faulty_push, args.contacts)), flush=True)
        return
    kills = (args.users, args.kills, args.seed, args.run_timeout)
    if args.part == "kills":
        print(json.dumps(_timed(part2_kills, *kills)), flush=True)
        return
    started = time.monotonic()
    # The parts share nothing: the faulty push runs in its own process beside the kills.
    faults = subprocess.Popen(
        [sys.executable, __file__, "--part", "faults", "--contacts", str(args.contacts)], stdout=subprocess.PIPE
    )
    two = _timed(part2_kills, *kills)
    print(f"part 2: {json.dumps(two)}", flush=True)
    out, _ = faults.communicate()
    if faults.returncode != 0:
        raise SystemExit(f"part 1 exited with {faults.returncode}")
    one = json.loads(out.decode().strip().splitlines()[-1])
    print(f"part 1: {json.dumps(one)}", flush=True)
    print(
        json.dumps(
            {
                "faults_injected": one["faults_injected"],
                "kills": two["kills"],
                "final_state_exact": None if two["exact"] is None else (one["exact"] and two["exact"]),
                "duplicates": one["duplicates"] + two["duplicates"],
                "lost_events": two["lost_events"],
                "doubled_events": two["doubled_events"],
                "hung_runs": two["hung_runs"],
                "hung_in": two["hung_in"],
                "failed_runs": two["failed_runs"],
                "events": two["events"],
                "event_resends": two["event_resends"],
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
