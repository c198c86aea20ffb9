"""Jobs: the nightly sync runs every stage from ingest to the Intercom push."""

import dagster as dg

SYNC_GROUPS = ("ingest", "attributes", "reverse_etl")

nightly_sync = dg.define_asset_job(
    "nightly_sync",
    selection=dg.AssetSelection.groups(*SYNC_GROUPS),
    description="Pull Stripe and the warehouse, compute attributes and segments, push changes to Intercom.",
    tags={"dagster/max_retries": "1"},
)
