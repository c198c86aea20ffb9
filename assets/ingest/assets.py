"""Ingest: snapshots of Stripe and the warehouse, the inputs every later stage reads."""

from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
import pandas as pd

from assets.ingest.fx_rates import merged_rates, parse_rate_rows
from assets.ingest.snapshot import attach_price_details
from assets.metadata import errors_table, preview, record_problems
from assets.revenue import subscriptions_frame
from resources.settings import SyncSettings
from resources.state import StateStoreResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource

GROUP = "ingest"
OWNERS = ["team:revops"]

# Stripe and the warehouse are across a network: a step that still fails after the clients' own
# per-request retries (an outage, a dropped database connection) is tried again whole, later.
NETWORK_RETRY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
COMMON = {"group_name": GROUP, "owners": OWNERS, "retry_policy": NETWORK_RETRY}

CUSTOMER_COLUMNS = ["customer_id", "email", "metadata_account_id", "livemode", "created"]


@dg.asset(**COMMON, kinds={"stripe", "pandas"})
def stripe_customers(stripe: StripeResource, settings: SyncSettings) -> dg.MaterializeResult[pd.DataFrame]:
    """Every Stripe customer with its email and the account id from its metadata."""
    key = settings.account_metadata_key
    rows = [
        (c["id"], c.get("email"), (c.get("metadata") or {}).get(key), c.get("livemode"), c.get("created"))
        for c in stripe.list_customers()
    ]
    frame = pd.DataFrame(rows, columns=CUSTOMER_COLUMNS)
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            "without_account_metadata": int(frame["metadata_account_id"].isna().sum()),
            "stripe_api_version": stripe.api_version,
            "preview": preview(frame),
        },
    )


@dg.multi_asset(
    outs={
        "stripe_subscriptions": dg.AssetOut(
            group_name=GROUP,
            kinds={"stripe", "pandas"},
            owners=OWNERS,
            description="Every Stripe subscription (canceled included), one row per item, with prices' tiers, "
            "products and coupons joined on.",
        ),
        "unreadable_subscriptions": dg.AssetOut(
            group_name=GROUP,
            kinds={"stripe", "pandas"},
            owners=OWNERS,
            description="Subscriptions that could not be read, with their customer, field and message.",
        ),
    },
    retry_policy=NETWORK_RETRY,
)
def stripe_subscription_snapshot(
    context: dg.AssetExecutionContext, stripe: StripeResource, state: StateStoreResource
) -> Iterator[dg.MaterializeResult]:
    """One pass over Stripe's subscriptions.

    Prices (with tiers), products and coupons are listed once each and joined onto the items,
    because Stripe cannot expand them that deep on a subscription list. A subscription that
    cannot be read is left out of the items, recorded in `sync_errors` naming its id and field,
    and listed in `unreadable_subscriptions` so its account is held back rather than shown as free.
    """
    products = {p["id"]: p for p in stripe.list_products()}
    prices = {p["id"]: p for p in stripe.list_prices()}
    coupons = {c["id"]: c for c in stripe.list_coupons()}
    cancel_at: dict[str, int | None] = {}
    customers: dict[str, str | None] = {}

    def joined() -> Iterator[dict]:
        for subscription in stripe.list_subscriptions():
            # A scheduled cancellation date is not a revenue field; the lifecycle status needs it.
            cancel_at[subscription["id"]] = subscription.get("cancel_at")
            customer = subscription.get("customer")
            customers[subscription["id"]] = customer.get("id") if isinstance(customer, dict) else customer
            yield attach_price_details(subscription, prices, products)

    items, errors = subscriptions_frame(joined(), coupons)
    items["cancel_at"] = items["subscription_id"].map(cancel_at).astype("Float64")
    record_problems(context, state, "subscription", errors)
    unreadable = pd.DataFrame(
        [(e.record, customers.get(e.record), e.field, e.message) for e in errors],
        columns=["subscription_id", "customer_id", "field", "message"],
    )
    yield dg.MaterializeResult(
        asset_key="stripe_subscriptions",
        value=items,
        metadata={
            "dagster/row_count": len(items),
            "subscriptions": int(items["subscription_id"].nunique()) if len(items) else 0,
            "products": len(products),
            "prices": len(prices),
            "coupons": len(coupons),
        },
    )
    yield dg.MaterializeResult(
        asset_key="unreadable_subscriptions",
        value=unreadable,
        metadata={"dagster/row_count": len(unreadable), "errors": errors_table(errors)},
    )


@dg.asset(**COMMON, kinds={"sqlalchemy", "pandas"})
def fx_rates(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Exchange rates to the reporting currency: the configured ones, overridden by the warehouse's
    `fx_rates_table` when one is set. Bad rows are reported in `sync_errors` and left out."""
    table_rates, problems = parse_rate_rows(warehouse.read_fx_rates())
    record_problems(context, state, "fx_rate", problems)
    frame = merged_rates(settings.parsed_fx_rates(), table_rates)
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            "reporting_currency": settings.reporting_currency,
            "rates": dg.MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "_none_"),
            "invalid_rows": errors_table(problems),
        },
    )


@dg.asset(**COMMON, kinds={"sqlalchemy", "pandas"})
def warehouse_accounts(warehouse: WarehouseResource) -> dg.MaterializeResult[pd.DataFrame]:
    """Product accounts (Intercom companies): account_id, name, created_at."""
    frame = warehouse.read_accounts()
    return dg.MaterializeResult(value=frame, metadata={"dagster/row_count": len(frame), "preview": preview(frame)})


@dg.asset(**COMMON, kinds={"sqlalchemy", "pandas"})
def warehouse_users(warehouse: WarehouseResource) -> dg.MaterializeResult[pd.DataFrame]:
    """Product users (Intercom contacts): user_id, account_id, email, name, created_at."""
    frame = warehouse.read_users()
    return dg.MaterializeResult(value=frame, metadata={"dagster/row_count": len(frame), "preview": preview(frame)})


@dg.asset(**COMMON, kinds={"sqlalchemy", "pandas"})
def usage_aggregates(warehouse: WarehouseResource, settings: SyncSettings) -> dg.MaterializeResult[pd.DataFrame]:
    """Per user: lifetime and last-30-days counts per usage metric, and the last activity.

    Aggregated inside the warehouse with one GROUP BY; raw events never reach this process.
    Metadata: `newest_event_at` (the freshness check's input) and `active_users_30d`.
    """
    frame = warehouse.usage_aggregates(settings.usage_metrics, settings.now())
    newest = frame["last_active_at"].max() if len(frame) else None
    window = settings.now() - timedelta(days=30)
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            "as_of": settings.now().isoformat(),
            "newest_event_at": "" if newest is None or pd.isna(newest) else newest.isoformat(),
            "active_users_30d": int((frame["last_active_at"] >= window).sum()),
            "preview": preview(frame),
        },
    )
