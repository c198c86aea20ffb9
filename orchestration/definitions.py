"""The one Definitions of the revsync code location."""

import warnings

import dagster as dg

# Beta/preview notices would bury real deprecations; see docs/operations.md.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from assets.attributes import assets as attributes  # noqa: E402
from assets.ingest import assets as ingest  # noqa: E402
from assets.lifecycle import assets as lifecycle  # noqa: E402
from assets.pool import assets as pool  # noqa: E402
from assets.push import assets as push  # noqa: E402
from assets.revenue import assets as revenue  # noqa: E402
from orchestration.environments import resources_for_environment  # noqa: E402
from orchestration.jobs import lifecycle_events_job, mrr_history, nightly_sync  # noqa: E402
from orchestration.schedules import mrr_history_schedule, nightly_sync_schedule  # noqa: E402
from orchestration.sensors import stripe_lifecycle_events_sensor  # noqa: E402

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, revenue, attributes, pool, push, lifecycle]),
    jobs=[nightly_sync, mrr_history, lifecycle_events_job],
    schedules=[nightly_sync_schedule(), mrr_history_schedule()],
    sensors=[stripe_lifecycle_events_sensor],
    resources=resources_for_environment(),
)
