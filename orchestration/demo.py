"""`make demo`: the whole nightly sync, end to end, on the embedded defaults.

Starts both emulators on loopback, builds the seeded demo world into a SQLite warehouse and the
Stripe emulator, records the MRR history of the scripted days (the real `mrr_history` job, as one
backfill run), runs the real `nightly_sync` job against them and prints a readable summary whose
last line is JSON. The world's "now" and the Intercom emulator's contents are kept under `data/`,
so a second run sees the same data and the workspace the first run left: it writes nothing.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import stripe

from assets.plays.history import MembershipHistory
from assets.plays.load import configured_plays
from emulators.demo_world.histories import history_start, script_histories
from emulators.demo_world.plays_history import simulate_earlier_run
from emulators.demo_world.stripe_world import stripe_objects
from emulators.demo_world.warehouse_writer import write_warehouse
from emulators.demo_world.world import build_world
from emulators.http import EmulatorServer
from emulators.intercom import IntercomEmulator
from emulators.runner import load_state_file, save_state_file
from emulators.stripe import StripeEmulator
from orchestration.environments import DEMO_FX_RATES, ENVIRONMENT_VARIABLE, EmulatorAccess, emulator_resources
from resources.settings import SyncSettings
from resources.state.store import StateStore

# The demo always runs on the emulators; definitions.py picks its resources when it is imported.
os.environ[ENVIRONMENT_VARIABLE] = "demo"
from orchestration.definitions import defs

STRIPE_KEY = "sk_test_revsync_demo"
INTERCOM_TOKEN = "revsync-demo-token"
STRIPE_STATE, INTERCOM_STATE = "stripe_emulator.json", "intercom_emulator.json"  # what `make ui` serves
CATALOG = ("products", "prices", "coupons")
# The emulator's data is test-mode data, and the scripted histories span 35 days: let the first
# run send all of them (a real first run sends only the last 7 days).
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}  # progress lines, not Dagster's step events
RUN_CONFIG = {
    "ops": {
        "intercom_lifecycle_events": {"config": {"allow_test_mode": True, "lookback_days": 40}},
        # Log all the events Stripe keeps, so the lifecycle's look-back reads them from the log.
        "stripe_snapshot": {"config": {"event_backfill_days": 30}},
    },
    **QUIET,
}
# The history days the demo records before its sync: enough for `mrr_change_30d` (30 days back) and
# the scripted histories' movements, so the UI never finds nightly_sync's upstream unmaterialized.
HISTORY_DAYS = 35


def history_range_tags(as_of: datetime, days: int = HISTORY_DAYS) -> dict[str, str]:
    """The tags of a single-run backfill (as the UI launches one) of the `days` UTC days before `as_of`."""
    last: date = as_of.date() - timedelta(days=1)
    return {
        "dagster/asset_partition_range_start": (last - timedelta(days=days - 1)).isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


@dataclass(frozen=True)
class DemoSpec:
    users: int
    seed: int
    as_of: str  # ISO-8601 UTC: the world's "now", fixed at the first run

    @classmethod
    def load_or_create(cls, path: Path, users: int, seed: int) -> tuple["DemoSpec", bool]:
        """The saved spec when it matches; otherwise a new one (and True: the world is new)."""
        if path.exists():
            saved = cls(**json.loads(path.read_text()))
            if (saved.users, saved.seed) == (users, seed):
                return saved, False
        spec = cls(users, seed, datetime.now(UTC).replace(second=0, microsecond=0).isoformat())
        path.write_text(json.dumps(asdict(spec)))
        return spec, True


def _metadata_value(result: dg.ExecuteInProcessResult, asset: str, key: str) -> Any:
    for event in result.asset_materializations_for_node(asset):
        if key in event.metadata:
            return event.metadata[key].value
    return None


def summarise(
    result: dg.ExecuteInProcessResult, reporting_currency: str, history: dg.ExecuteInProcessResult
) -> dict[str, Any]:
    """The run's headline figures, read from the assets' materialization metadata (and whether the
    history backfill before it succeeded)."""

    def count(asset: str, key: str) -> int:
        return int(_metadata_value(result, asset, key) or 0)

    mrr = float(_metadata_value(result, "account_revenue", f"mrr_{reporting_currency.lower()}") or 0)
    return {
        "run_id": result.run_id,
        "success": result.success and history.success,
        "contacts_created": count("intercom_contacts", "created"),
        "contacts_updated": count("intercom_contacts", "updated"),
        "contacts_unchanged": count("intercom_contacts", "unchanged"),
        "companies_upserted": count("intercom_companies", "created") + count("intercom_companies", "updated"),
        "attributes_created": count("intercom_data_attributes", "created"),
        "attributes_written": count("intercom_contacts", "attributes_written")
        + count("intercom_companies", "attributes_written"),
        "records_failed": count("intercom_contacts", "failed") + count("intercom_companies", "failed"),
        "events_sent": count("intercom_lifecycle_events", "events_sent"),
        "stripe_mode": _metadata_value(result, "stripe_snapshot", "mode") or "",
        "stripe_calls": count("stripe_snapshot", "stripe_calls"),
        "segments": _metadata_value(result, "segment_membership", "segment_sizes") or {},
        "plays": _metadata_value(result, "play_results", "plays") or {},
        "mrr_total": mrr,
        "mrr_currency": reporting_currency,
        "checks": check_counts(result),
        "history_days": len(_history_days(history)),
    }


def check_counts(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """Check evaluations of the run: passed, failed (blocking) and warned (warnings, acknowledged)."""
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    warned = sum(e.severity == dg.AssetCheckSeverity.WARN for e in failed)
    return {"passed": len(evaluations) - len(failed), "failed": len(failed) - warned, "warned": warned}


def _history_days(history: dg.ExecuteInProcessResult) -> set[str]:
    """The partitions of `customer_mrr_daily` the history run materialized."""
    return {str(event.partition) for event in history.asset_materializations_for_node("customer_mrr_daily")}


def print_summary(summary: dict[str, Any], world: DemoSpec, intercom: IntercomEmulator) -> None:
    stats = intercom.stats()
    print()
    print(f"revsync demo — {world.users} users, seed {world.seed}, as of {world.as_of}")
    print(f"  run {summary['run_id']}: {'succeeded' if summary['success'] else 'FAILED'}")
    print(f"  MRR: {summary['mrr_total']:,.2f} {summary['mrr_currency'].upper()}")
    print(f"  MRR history recorded: {summary['history_days']} days")
    print(
        f"  Intercom contacts: {summary['contacts_created']} created, {summary['contacts_updated']} updated, "
        f"{summary['contacts_unchanged']} unchanged"
    )
    print(f"  Intercom companies upserted: {summary['companies_upserted']}")
    print(f"  custom attribute values written: {summary['attributes_written']}")
    print(f"  lifecycle events sent: {summary['events_sent']}")
    checks = summary["checks"]
    print(f"  checks: {checks['passed']} passed, {checks['failed']} failed, {checks['warned']} warned")
    for name, size in summary["segments"].items():
        print(f"  segment {name}: {size} members")
    for name, play in summary["plays"].items():
        interval = (
            "no interval" if play["ci95"] is None else f"95 % CI {play['ci95'][0]:+.1f} to {play['ci95'][1]:+.1f}"
        )
        lift = "n/a" if play["lift_pct_points"] is None else f"{play['lift_pct_points']:+.1f} points"
        print(f"  play {name}: {play['treatment']} treatment / {play['control']} control, lift {lift} ({interval}, "
              f"p = {play['p_value']}): {play['verdict']}")  # fmt: skip
    print(f"  Intercom emulator now holds: {json.dumps(stats)}")
    print(json.dumps(summary))


def _instance() -> dg.DagsterInstance:
    """The DAGSTER_HOME instance (so `make ui` shows the demo's runs), else a throwaway one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_demo(users: int, seed: int, data_dir: Path, sync: bool = True) -> dict[str, Any]:
    """The demo; without `sync`, only the world and its MRR history, leaving nightly_sync's first
    run to be launched from `make ui` (bench/ui_launch.py --first-sync)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    spec, fresh_world = DemoSpec.load_or_create(data_dir / "demo_world.json", users, seed)
    as_of = datetime.fromisoformat(spec.as_of)
    warehouse_url = f"sqlite:///{(data_dir / 'warehouse.db').resolve()}"
    intercom_state = data_dir / INTERCOM_STATE
    if fresh_world:
        intercom_state.unlink(missing_ok=True)
        (data_dir / "warehouse.db").unlink(missing_ok=True)

    world = build_world(spec.users, spec.seed, as_of=as_of)
    write_warehouse(world, warehouse_url)
    # The plays' earlier run and the weeks after it (emulators/demo_world/plays_history.py).
    state = StateStore(warehouse_url)
    simulate_earlier_run(world, MembershipHistory(state), configured_plays("", None))
    state.dispose()

    objects = stripe_objects(world)
    stripe_app = StripeEmulator(now=history_start(world))
    stripe_app.load({kind: objects[kind] for kind in CATALOG})
    intercom_app = IntercomEmulator(access_tokens={INTERCOM_TOKEN})
    load_state_file(intercom_app, intercom_state)

    with EmulatorServer(stripe_app) as stripe_server, EmulatorServer(intercom_app) as intercom_server:
        # Histories first (they emit Stripe events over the 35 days before `as_of`), then the world.
        stripe_app.configure(rate_limit=None)
        script_histories(stripe_app, stripe.StripeClient(STRIPE_KEY, base_addresses={"api": stripe_server.url}), world)
        stripe_app.configure(rate_limit=25)
        stripe_app.set_clock(int(as_of.timestamp()))
        stripe_app.load({kind: rows for kind, rows in objects.items() if kind not in CATALOG})

        settings = SyncSettings(as_of=spec.as_of, fx_rates=DEMO_FX_RATES)
        access = EmulatorAccess(stripe_server.url, STRIPE_KEY, intercom_server.url, INTERCOM_TOKEN)
        resources = emulator_resources(access, warehouse_url=warehouse_url, settings=settings)
        instance = _instance()
        history = defs.resolve_job_def("mrr_history").execute_in_process(
            resources=resources,
            run_config=QUIET,
            tags=history_range_tags(as_of),
            instance=instance,
            raise_on_error=False,
        )
        result: dg.ExecuteInProcessResult | None = None
        if sync:
            result = defs.resolve_job_def("nightly_sync").execute_in_process(
                resources=resources, run_config=RUN_CONFIG, instance=instance, raise_on_error=False
            )
    save_state_file(intercom_app, intercom_state)
    save_state_file(stripe_app, data_dir / STRIPE_STATE)
    if result is None:
        prepared = {"run_id": history.run_id, "success": history.success, "history_days": len(_history_days(history))}
        print(json.dumps(prepared))
        return prepared
    summary = summarise(result, settings.reporting_currency, history)
    print_summary(summary, spec, intercom_app)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.demo", description=__doc__)
    parser.add_argument("--users", type=int, default=1000, help="users in the demo world (100 to 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument(
        "--no-sync", action="store_true", help="build the world and record its MRR history only (no nightly_sync)"
    )
    args = parser.parse_args(argv)
    summary = run_demo(args.users, args.seed, args.data_dir, sync=not args.no_sync)
    return 0 if summary["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
