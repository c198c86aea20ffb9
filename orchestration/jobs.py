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

SYNC_GROUPS = ("ingest", "attributes", "plays", "pool", "push", "lifecycle")

DRY_RUN_TAG = "revsync/dry_run"
# The dry run's plan is not part of a real push.
PUSH_PLAN = dg.AssetSelection.assets("intercom_push_plan")
EXECUTOR = dg.in_process_executor

nightly_sync = dg.define_asset_job(
    "nightly_sync",
    selection=dg.AssetSelection.groups(*SYNC_GROUPS) - PUSH_PLAN,
    description="Pull Stripe and the warehouse, compute attributes and plays, push changes to Intercom.",
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
    # The events come from the Stripe snapshot's event log, so its incremental read (event pages
    # only) runs first.
    selection=dg.AssetSelection.assets(
        "stripe_api_pool", "stripe_snapshot", "intercom_api_pool", "intercom_lifecycle_events"
    ),
    description="Read Stripe's new events and send the lifecycle events to Intercom (the sensor runs it "
    "between nightly syncs).",
    executor_def=EXECUTOR,
)

intercom_dry_run = dg.define_asset_job(
    "intercom_dry_run",
    selection=PUSH_PLAN.upstream() - dg.AssetSelection.groups("revenue"),
    description="The dry run: ingest, attributes and their checks, then the push plan (attribute: old → new) "
    "in intercom_push_plan. Nothing is written to Intercom and no Intercom asset is materialized.",
    tags={DRY_RUN_TAG: "true"},
)

sync_checks = dg.define_asset_job(
    "sync_checks",
    # segment_membership only plans (membership_history records): the segment-size check reads it.
    selection=dg.AssetSelection.groups("ingest", "attributes")
    | dg.AssetSelection.assets("stripe_api_pool", "segment_membership"),
    description="Ingest, attributes and plays' membership with every check that gates the push, without pushing: "
    "is tonight's data fit to send?",
)
