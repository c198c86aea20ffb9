"""Reading the sources: exchange-rate rows and the price details joined onto subscriptions.

The Dagster assets (`stripe_*`, `warehouse_*`, `usage_aggregates`) live in `assets.ingest.assets`.
"""

from assets.ingest.fx_rates import RateProblem, merged_rates, parse_rate_rows
from assets.ingest.snapshot import attach_price_details

__all__ = ["RateProblem", "attach_price_details", "merged_rates", "parse_rate_rows"]
