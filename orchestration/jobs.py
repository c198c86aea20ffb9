"""Jobs: the nightly sync runs every stage from ingest to the Intercom push; mrr_history records
the daily MRR history (refreshing the Stripe snapshot it is computed from)."""

import dagster as dg

SYNC_GROUPS = ("ingest", "attributes", "push", "lifecycle")

nightly_sync = dg.define_asset_job(
    "nightly_sync",
    selection=dg.AssetSelection.groups(*SYNC_GROUPS),
    description="Pull Stripe and the warehouse, compute attributes and segments, push changes to Intercom.",
    tags={"dagster/max_retries": "1"},
)

mrr_history = dg.define_asset_job(
    "mrr_history",
    selection=dg.AssetSelection.groups("revenue").upstream().required_multi_asset_neighbors(),
    description="MRR per customer for a day and the day's movements. Backfill ranges from the asset graph.",
)

lifecycle_events_job = dg.define_asset_job(
    "lifecycle_events",
    selection=dg.AssetSelection.assets("intercom_api_pool", "intercom_lifecycle_events"),
    description="Send pending Stripe lifecycle events to Intercom (the sensor runs it between nightly syncs).",
)
