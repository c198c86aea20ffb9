"""The one Definitions of the revsync code location."""

import warnings

import dagster as dg

# Beta/preview notices would bury real deprecations; see docs/operations.md.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from assets.attributes import assets as attributes  # noqa: E402
from assets.checks import assets as checks  # noqa: E402
from assets.ingest import assets as ingest  # noqa: E402
from assets.lifecycle import assets as lifecycle  # noqa: E402
from assets.plays import assets as plays  # noqa: E402
from assets.plays.load import configured_plays  # noqa: E402
from assets.pool import assets as pool  # noqa: E402
from assets.push import assets as push  # noqa: E402
from assets.revenue import assets as revenue  # noqa: E402
from orchestration.alerts import failed_checks_alert, run_failure_alert  # noqa: E402
from orchestration.environments import resources_for_environment  # noqa: E402
from orchestration.jobs import (  # noqa: E402
    intercom_dry_run,
    lifecycle_events_job,
    mrr_history,
    nightly_sync,
    sync_checks,
)
from orchestration.schedules import mrr_history_schedule, nightly_sync_schedule  # noqa: E402
from orchestration.sensors import stripe_lifecycle_events_sensor  # noqa: E402

# A bad plays file fails here, so `dg check defs` (and the UI's code location) reports it before any run.
configured_plays("", None)

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, revenue, attributes, plays, pool, push, lifecycle]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
    jobs=[nightly_sync, mrr_history, lifecycle_events_job, intercom_dry_run, sync_checks],
    schedules=[nightly_sync_schedule(), mrr_history_schedule()],
    sensors=[stripe_lifecycle_events_sensor, run_failure_alert, failed_checks_alert],
    resources=resources_for_environment(),
)
