"""The one Definitions of the revsync code location."""

import warnings

import dagster as dg

# Beta/preview notices would bury real deprecations; see docs/operations.md.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from assets import attributes, ingest, intercom  # noqa: E402
from orchestration.environments import resources_for_environment  # noqa: E402
from orchestration.jobs import nightly_sync  # noqa: E402
from orchestration.schedules import nightly_sync_schedule  # noqa: E402

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, attributes, intercom]),
    jobs=[nightly_sync],
    schedules=[nightly_sync_schedule()],
    resources=resources_for_environment(),
)
