"""Resources per environment. `REVSYNC_ENV` picks one: `demo` or `production`, and must be set.

There is no default, so a deployment that forgets the variable fails on load instead of running
against emulator addresses; `make demo`, `make ui`, `make test` and the test suite set `demo`.

`demo` talks to the local emulators at the addresses in `.env` (see `.env.example`) and keeps the
warehouse and state store in one database: `REVSYNC_WAREHOUSE_URL` when set (`make ui` points it
at the demo's data directory), else the SQLite file `data/warehouse.db`. `production` talks to the
real APIs; every secret and address comes from an environment variable, resolved when a run
starts, never logged.
"""

import os
from dataclasses import dataclass
from typing import Any

import dagster as dg

from resources.alerts import AlertResource
from resources.check_settings import AcknowledgedChecks, CheckSettings
from resources.intercom import IntercomResource
from resources.settings import SyncSettings
from resources.state import StateStoreResource
from resources.stripe import StripeResource
from resources.warehouse import DEFAULT_WAREHOUSE_URL, WarehouseResource

ENVIRONMENT_VARIABLE = "REVSYNC_ENV"


# Illustrative rates for the demo world's EUR, GBP and JPY customers.
DEMO_FX_RATES = "eur=1.08,gbp=1.27,jpy=0.0067"


Setting = str | dg.EnvVar


@dataclass(frozen=True)
class EmulatorAccess:
    """Where the local Stripe and Intercom emulators listen, and the key and token they accept."""

    stripe_url: Setting
    stripe_key: Setting
    intercom_url: Setting
    intercom_token: Setting


def emulator_resources(
    access: EmulatorAccess,
    *,
    warehouse_url: str,
    settings: SyncSettings,
    fx_rates_table: str | None = None,
    stripe_requests_per_second: float = 20.0,
) -> dict[str, Any]:
    """Resources for the local emulators, with the warehouse and state store in one database
    (the demo environment, `make demo` and the end-to-end tests)."""
    return {
        "stripe": StripeResource(
            api_key=access.stripe_key, base_url=access.stripe_url, requests_per_second=stripe_requests_per_second
        ),
        "intercom": IntercomResource(access_token=access.intercom_token, base_url=access.intercom_url),
        "warehouse": WarehouseResource(url=warehouse_url, fx_rates_table=fx_rates_table),
        "state": StateStoreResource(url=warehouse_url),
        "settings": settings,
        "checks": CheckSettings.from_environment(),
        "acknowledged_checks": AcknowledgedChecks(),
        "alerts": AlertResource.from_environment(),
    }


def demo_resources() -> dict[str, Any]:
    access = EmulatorAccess(
        dg.EnvVar("STRIPE_BASE_URL"),
        dg.EnvVar("STRIPE_API_KEY"),
        dg.EnvVar("INTERCOM_BASE_URL"),
        dg.EnvVar("INTERCOM_ACCESS_TOKEN"),
    )
    return emulator_resources(
        access,
        warehouse_url=os.environ.get("REVSYNC_WAREHOUSE_URL", DEFAULT_WAREHOUSE_URL),
        settings=SyncSettings(fx_rates=DEMO_FX_RATES),
    )


def production_resources() -> dict[str, Any]:
    return {
        "stripe": StripeResource(api_key=dg.EnvVar("STRIPE_API_KEY")),
        "intercom": IntercomResource(
            access_token=dg.EnvVar("INTERCOM_ACCESS_TOKEN"),
            region=dg.EnvVar("INTERCOM_REGION"),
        ),
        "warehouse": WarehouseResource(url=dg.EnvVar("REVSYNC_WAREHOUSE_URL")),
        "state": StateStoreResource(url=dg.EnvVar("REVSYNC_STATE_URL"), table_prefix=dg.EnvVar("REVSYNC_STATE_PREFIX")),
        "settings": SyncSettings(
            reporting_currency=dg.EnvVar("REVSYNC_REPORTING_CURRENCY"),
            fx_rates=dg.EnvVar("REVSYNC_FX_RATES"),
            account_metadata_key=dg.EnvVar("REVSYNC_STRIPE_ACCOUNT_METADATA_KEY"),
        ),
        "checks": CheckSettings.from_environment(),
        "acknowledged_checks": AcknowledgedChecks(),
        "alerts": AlertResource.from_environment(),
    }


ENVIRONMENTS = {"demo": demo_resources, "production": production_resources}


def resources_for_environment() -> dict[str, Any]:
    name = os.environ.get(ENVIRONMENT_VARIABLE)
    if not name:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE} is not set: set it to one of {sorted(ENVIRONMENTS)} "
            "(production for the real APIs; make demo, make ui and the tests set demo)"
        )
    if name not in ENVIRONMENTS:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={name!r}; expected one of {sorted(ENVIRONMENTS)}")
    return ENVIRONMENTS[name]()
