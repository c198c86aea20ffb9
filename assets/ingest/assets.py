"""Ingest: snapshots of Stripe and the warehouse, the inputs every later stage reads."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from assets.ingest.fx_rates import merged_rates, parse_rate_rows
from assets.ingest.snapshot import attach_price_details
from assets.ingest.validation import (
    RowProblem,
    TooManyBadRows,
    check_customer,
    check_error_rate,
    check_keys,
    check_subscription,
    raw_excerpt,
    validate_rows,
)
from assets.metadata import errors_table, preview, record_problems
from assets.revenue import subscriptions_frame
from assets.revenue.records import RevenueError
from resources.settings import SyncSettings
from resources.state.store import StateStoreResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource

GROUP = "ingest"
OWNERS = ["team:revops"]

CUSTOMER_COLUMNS = ["customer_id", "email", "metadata_account_id", "livemode", "created"]


def _report_bad_rows(
    context: dg.AssetExecutionContext,
    state: StateStoreResource,
    settings: SyncSettings,
    table: str,
    problems: list[RowProblem],
    total: int,
    kept: int,
) -> dict[str, object]:
    """Bad rows to `sync_errors`; fail above `max_error_rate` with the counts per cause. Returns metadata."""
    record_problems(context, state, table, problems)
    metadata: dict[str, object] = {
        "rows_read": total,
        "rows_left_out": total - kept,
        "bad_rows": errors_table(problems),
    }
    try:
        check_error_rate(table, problems, total, kept, settings.max_error_rate)
    except TooManyBadRows as exc:
        raise dg.Failure(description=str(exc), metadata={**metadata, "by_cause": exc.causes}) from exc
    return metadata


@dg.asset(group_name=GROUP, kinds={"stripe", "pandas"}, owners=OWNERS)
def stripe_customers(
    context: dg.AssetExecutionContext, stripe: StripeResource, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Every Stripe customer with its email and the account id from its metadata.

    Deleted customers and customers without a unique id are reported in `sync_errors` and left out.
    """
    key = settings.account_metadata_key
    rows, problems = [], []
    for c in stripe.list_customers():
        problem = check_customer(c)
        if problem is not None:
            problems.append(problem)
            continue
        rows.append(
            (c.get("id"), c.get("email"), (c.get("metadata") or {}).get(key), c.get("livemode"), c.get("created"))
        )
    listed = pd.DataFrame(rows, columns=CUSTOMER_COLUMNS)
    keep, key_problems = check_keys(listed, "customer", "customer_id")
    frame = listed[keep].reset_index(drop=True)
    total = len(listed) + len(problems)  # deleted ones were listed too
    checked = _report_bad_rows(context, state, settings, "customer", [*problems, *key_problems], total, len(frame))
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            "without_account_metadata": int(frame["metadata_account_id"].isna().sum()),
            "stripe_api_version": stripe.api_version,
            "preview": preview(frame),
            **checked,
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
    }
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

    invalid: list[RowProblem] = []

    def joined() -> Iterator[dict]:
        for subscription in stripe.list_subscriptions():
            # A scheduled cancellation date is not a revenue field; the lifecycle status needs it.
            cancel_at[subscription["id"]] = subscription.get("cancel_at")
            customer = subscription.get("customer")
            customers[subscription["id"]] = customer.get("id") if isinstance(customer, dict) else customer
            problems = check_subscription(subscription)
            if problems:
                invalid.extend(problems)
                continue
            yield attach_price_details(subscription, prices, products)

    items, errors = subscriptions_frame(joined(), coupons)
    errors = [*errors, *(RevenueError(p.record, p.field, p.message) for p in invalid)]
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


@dg.asset(group_name=GROUP, kinds={"sqlalchemy", "pandas"}, owners=OWNERS)
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


def _validated_table(
    context: dg.AssetExecutionContext,
    state: StateStoreResource,
    settings: SyncSettings,
    table: str,
    raw: pd.DataFrame,
    key: str,
) -> dg.MaterializeResult[pd.DataFrame]:
    frame, problems = validate_rows(raw, table, key, ["created_at"], settings.now())
    checked = _report_bad_rows(context, state, settings, table, problems, len(raw), len(frame))
    return dg.MaterializeResult(
        value=frame, metadata={"dagster/row_count": len(frame), "preview": preview(frame), **checked}
    )


@dg.asset(group_name=GROUP, kinds={"sqlalchemy", "pandas"}, owners=OWNERS)
def warehouse_accounts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Product accounts (Intercom companies): account_id, name, created_at (UTC).

    A row with a missing or duplicate account_id, or a created_at that is no timestamp or in the
    future, is reported in `sync_errors` and left out.
    """
    return _validated_table(context, state, settings, "accounts", warehouse.read_accounts(), "account_id")


@dg.asset(group_name=GROUP, kinds={"sqlalchemy", "pandas"}, owners=OWNERS)
def warehouse_users(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Product users (Intercom contacts): user_id, account_id, email, name, created_at (UTC).

    A row with a missing or duplicate user_id (every duplicate), or a created_at that is no
    timestamp or in the future, is reported in `sync_errors` and left out.
    """
    return _validated_table(context, state, settings, "users", warehouse.read_users(), "user_id")


@dg.asset(group_name=GROUP, kinds={"sqlalchemy", "pandas"}, owners=OWNERS)
def usage_aggregates(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Per user: lifetime and last-30-days counts per usage metric, and the last activity.

    Aggregated inside the warehouse with one GROUP BY; raw events never reach this process. Events
    whose occurred_at is not a timestamp cannot be counted: each is reported in `sync_errors`.
    """
    aggregated = warehouse.usage_aggregates(settings.usage_metrics, settings.now())
    unique, _ = check_keys(aggregated, "users", "user_id")  # the users' key problems are warehouse_users' report
    frame = aggregated[unique].reset_index(drop=True)
    unreadable = warehouse.unparseable_usage()
    problems = [
        RowProblem(
            "usage_events",
            str(r.user_id),
            "occurred_at",
            "unparseable_date",
            raw_excerpt(r.occurred_at),
            f"event {r.event_name}",
        )
        for r in unreadable.itertuples()
    ]
    record_problems(context, state, "usage_events", problems)
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            "as_of": settings.now().isoformat(),
            "preview": preview(frame),
            "uncountable_events": len(problems),
            "bad_rows": errors_table(problems),
        },
    )
