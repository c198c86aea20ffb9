"""Run the real `nightly_sync` job against both emulators and a demo-world warehouse."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from emulators.demo_world.stripe_world import stripe_objects
from emulators.demo_world.warehouse_writer import write_warehouse
from emulators.demo_world.world import DemoWorld, build_world
from emulators.http import EmulatorServer
from emulators.intercom import IntercomEmulator
from emulators.stripe import StripeEmulator
from orchestration.definitions import defs
from orchestration.environments import DEMO_FX_RATES, EmulatorAccess, emulator_resources
from resources.check_settings import CheckSettings
from resources.settings import SyncSettings

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STRIPE_KEY = "sk_test_e2e"
INTERCOM_TOKEN = "e2e-token"
# The small worlds plant 4 unmatched Stripe customers among 25-33 (12-16 %): more than a real
# deployment should accept, so their runs allow it. tests/e2e/test_checks.py covers the limit.
SMALL_WORLD_CHECKS = CheckSettings(max_unmatched_customer_percent=20)


def sync_resources(
    stripe_url: str,
    intercom_url: str,
    warehouse_url: str,
    usage_metrics: dict[str, str] | None = None,
    fx_rates_table: str | None = None,
    as_of: datetime = AS_OF,
    **settings_overrides: Any,
) -> dict[str, Any]:
    """The end-to-end resources, also for a run in a child process (crash tests)."""
    settings = SyncSettings(
        as_of=as_of.isoformat(),
        fx_rates=DEMO_FX_RATES,
        **({"usage_metrics": usage_metrics} if usage_metrics else {}),
        **settings_overrides,
    )
    resources = emulator_resources(
        EmulatorAccess(stripe_url, STRIPE_KEY, intercom_url, INTERCOM_TOKEN),
        warehouse_url=warehouse_url,
        settings=settings,
        fx_rates_table=fx_rates_table,
        stripe_requests_per_second=1000,  # the e2e emulator has no rate limit; pacing has its own test
    )
    return {**resources, "checks": SMALL_WORLD_CHECKS}


@dataclass
class SyncWorld:
    world: DemoWorld
    warehouse_url: str
    stripe: EmulatorServer
    intercom: EmulatorServer
    usage_metrics: dict[str, str] | None = None  # None: the catalog's defaults
    fx_rates_table: str | None = None
    as_of: datetime = AS_OF
    # Resources replacing the emulator-backed defaults (e.g. other check thresholds, a warehouse view).
    overrides: dict[str, Any] = field(default_factory=lambda: {"checks": SMALL_WORLD_CHECKS})

    @property
    def stripe_app(self) -> StripeEmulator:
        assert isinstance(self.stripe.app, StripeEmulator)
        return self.stripe.app

    plays_file: str = ""  # "": plays.yaml at the project root
    settings_overrides: dict[str, Any] = field(default_factory=dict)  # e.g. max_error_rate

    @property
    def intercom_app(self) -> IntercomEmulator:
        assert isinstance(self.intercom.app, IntercomEmulator)
        return self.intercom.app

    def resources(self) -> dict[str, Any]:
        defaults = sync_resources(
            self.stripe.url,
            self.intercom.url,
            self.warehouse_url,
            self.usage_metrics,
            self.fx_rates_table,
            as_of=self.as_of,
            plays_file=self.plays_file,
            **self.settings_overrides,
        )
        return {**defaults, **self.overrides}

    def run(
        self,
        job: str = "nightly_sync",
        run_config: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        instance: dg.DagsterInstance | None = None,
    ) -> dg.ExecuteInProcessResult:
        return defs.resolve_job_def(job).execute_in_process(
            resources=self.resources(), run_config=run_config, tags=tags, instance=instance, raise_on_error=False
        )

    def backfill_history(self, first: date, last: date) -> dg.ExecuteInProcessResult:
        """What a single-run backfill from the UI does: one run for the whole range."""
        return self.run(
            "mrr_history",
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
        )


@contextmanager
def sync_world(
    warehouse_url: str, users: int = 150, seed: int = 11, edit_stripe: Callable[[dict], None] | None = None
) -> Iterator[SyncWorld]:
    """`edit_stripe` may change the world's Stripe objects before they are loaded (bad data)."""
    world = build_world(users, seed, as_of=AS_OF)
    write_warehouse(world, warehouse_url)
    stripe_app = StripeEmulator(now=int(AS_OF.timestamp()))
    objects = stripe_objects(world)
    if edit_stripe is not None:
        edit_stripe(objects)
    stripe_app.load(objects)
    intercom_app = IntercomEmulator(access_tokens={INTERCOM_TOKEN})
    with EmulatorServer(stripe_app) as stripe_server, EmulatorServer(intercom_app) as intercom_server:
        yield SyncWorld(world, warehouse_url, stripe_server, intercom_server)


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The asset's materialization metadata as plain values."""
    events = result.asset_materializations_for_node(asset)
    assert events, f"{asset} was not materialized"
    return {key: value.value for key, value in events[-1].metadata.items()}
