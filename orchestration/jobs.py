"""Jobs: the nightly sync runs every stage from ingest to the Intercom push; mrr_history records
the daily MRR history (refreshing the Stripe snapshot it is computed from).

Every job runs its steps in the run's own process (`in_process_executor`). Under Dagster's default
multiprocess executor each step first starts a Python process that re-imports Dagster and these
definitions, seconds per step, which made a UI-launched nightly_sync several times slower than the
same run in process (bench/README.md); the steps are short, and Intercom's rate limit, not CPU,
bounds the push. To spread steps over processes or machines, swap `EXECUTOR` for Dagster's
multiprocess, k8s or celery executor (README "Scaling out").
"""

import dagster as dg

SYNC_GROUPS = ("ingest", "attributes", "push", "lifecycle")
EXECUTOR = dg.in_process_executor

nightly_sync = dg.define_asset_job(
    "nightly_sync",
    selection=dg.AssetSelection.groups(*SYNC_GROUPS),
    description="Pull Stripe and the warehouse, compute attributes and segments, push changes to Intercom.",
    tags={"dagster/max_retries": "1"},
    executor_def=EXECUTOR,
)

mrr_history = dg.define_asset_job(
    "mrr_history",
    selection=dg.AssetSelection.groups("revenue").upstream().required_multi_asset_neighbors(),
    description="MRR per customer for a day and the day's movements. Backfill ranges from the asset graph.",
    executor_def=EXECUTOR,
)

lifecycle_events_job = dg.define_asset_job(
    "lifecycle_events",
    selection=dg.AssetSelection.assets("intercom_lifecycle_events"),
    description="Send pending Stripe lifecycle events to Intercom (the sensor runs it between nightly syncs).",
    executor_def=EXECUTOR,
)
