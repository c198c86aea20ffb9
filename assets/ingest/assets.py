"""Ingest: snapshots of Stripe and the warehouse, the inputs every later stage reads."""

import functools
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import dagster as dg
import pandas as pd
import stripe as stripe_sdk
from pydantic import Field

from assets.ingest.fx_rates import merged_rates, parse_rate_rows
from assets.ingest.snapshot import attach_price_details
from assets.ingest.stored_form import customer_id, with_prices
from assets.ingest.stripe_store import StripeSnapshotStore
from assets.ingest.stripe_sync import IngestOptions, IngestSummary, sync_stripe_snapshot
from assets.ingest.transient import is_transient
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
from assets.revenue import RevenueError, subscriptions_frame
from resources.settings import SyncSettings
from resources.state import StateStoreResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource

GROUP = "ingest"
OWNERS = ["team:revops"]

# Stripe and the warehouse are across a network: a step that still fails after the clients' own
# per-request retries (an outage, a dropped database connection) is tried again whole, later.
NETWORK_RETRY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
COMMON: dict[str, Any] = {"group_name": GROUP, "owners": OWNERS, "retry_policy": NETWORK_RETRY}
Step = TypeVar("Step", bound=Callable[..., Any])


def retried_only_if_transient(step: Step) -> Step:
    """NETWORK_RETRY is for outages: an error the same call would raise again (a refused key, a
    missing table, a bad URL) fails the step at once, so its alert is not held up by the retries'
    backoff (assets/ingest/transient.py says which errors are transient)."""

    @functools.wraps(step)
    def attempt(*args: Any, **kwargs: Any) -> Any:
        try:
            return step(*args, **kwargs)
        except dg.Failure:
            raise
        except Exception as error:
            if is_transient(error):
                raise
            raise dg.Failure(
                description=f"{step.__name__}: {type(error).__name__}, not retried: the same call would fail again",
                allow_retries=False,
            ) from error

    return attempt  # type: ignore[return-value]


def network_asset(**options: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """`dg.asset` for a step that reads across a network: NETWORK_RETRY, for transient errors only."""

    def define(step: Callable[..., Any]) -> dg.AssetsDefinition:
        return dg.asset(**COMMON, **options)(retried_only_if_transient(step))

    return define


CUSTOMER_COLUMNS = ["customer_id", "email", "metadata_account_id", "livemode", "created"]


class StripeSnapshotConfig(dg.Config):
    full_refresh: bool = Field(default=False, description="List all of Stripe this run instead of reading events.")
    full_refresh_every_days: int = Field(
        default=7, ge=1, description="List all of Stripe (and reconcile) when the last full listing is this old."
    )
    event_backfill_days: int = Field(
        default=7,
        ge=0,
        le=30,
        description="On a first run (or after the cursor expired), log this many days of Stripe events: the "
        "lifecycle events' first look-back (lookback_days) then reads them from the log.",
    )


def ingest_metadata(summary: IngestSummary) -> dict[str, Any]:
    """What the run cost in Stripe calls and what it found (docs/ingest.md lists the keys)."""
    return {
        "mode": summary.mode,
        "reason": summary.reason,
        "stripe_calls": summary.stripe_calls,
        "stripe_calls_by_endpoint": dg.MetadataValue.json(summary.stripe_calls_by_endpoint),
        "stripe_rate_limited": summary.stripe_rate_limited,
        "events_read": summary.events_read,
        "events_new": summary.events_new,
        "objects_changed": dg.MetadataValue.json(summary.objects_changed),
        "objects_deleted": dg.MetadataValue.json(summary.objects_deleted),
        "objects_refetched": summary.objects_refetched,
        "deleted_customers_kept": summary.deleted_customers_kept,
        "objects_listed": dg.MetadataValue.json(summary.listed),
        "listing_seconds": summary.listing_seconds,
        "listing_calls": summary.listing_calls,
        "budget_per_second": summary.budget_per_second,
        "budget_utilisation": summary.budget_utilisation,
        "reconcile_compared": summary.reconcile_compared,
        "reconcile_excluded": summary.reconcile_excluded,
        "reconcile_differences": summary.reconcile_differences,
        "reconcile_sample": dg.MetadataValue.json(summary.reconcile_sample),
    }


# The pool guard frees a `stripe_api` slot kept by a killed run before this step waits for one.
STRIPE_API_POOL = dg.AssetKey("stripe_api_pool")


@network_asset(kinds={"stripe"}, pool="stripe_api", deps=[STRIPE_API_POOL])
def stripe_snapshot(
    context: dg.AssetExecutionContext,
    config: StripeSnapshotConfig,
    stripe: StripeResource,
    state: StateStoreResource,
    settings: SyncSettings,
) -> dg.MaterializeResult:
    """Subscriptions, customers, prices, products and coupons, stored in the state store and kept
    current from Stripe's events; a full listing on the first run, weekly, on request, or when the
    event cursor has expired (docs/ingest.md). The later Stripe assets and the lifecycle events
    read this snapshot and its event log, never Stripe again."""
    options = IngestOptions(
        now=int(settings.now().timestamp()),
        full_refresh=config.full_refresh,
        full_refresh_every_days=config.full_refresh_every_days,
        event_backfill_days=config.event_backfill_days,
    )
    summary = sync_stripe_snapshot(stripe.reader(), StripeSnapshotStore(state.store), options)
    if summary.reconcile_differences and summary.reason in ("requested", "scheduled"):
        context.log.warning(
            f"{summary.reconcile_differences} stored Stripe objects differed from the full listing "
            f"without an event explaining it, e.g. {summary.reconcile_sample[:5]}; the listing replaced them"
        )
    context.log.info(f"Stripe snapshot ({summary.mode}, {summary.reason}): {summary.stripe_calls} calls")
    return dg.MaterializeResult(metadata=ingest_metadata(summary))


def _report_bad_rows(
    context: dg.AssetExecutionContext,
    state: StateStoreResource,
    settings: SyncSettings,
    table: str,
    problems: list[RowProblem],
    total: int,
    kept: int,
) -> dict[str, Any]:
    """Bad rows to `sync_errors`; fail above `max_error_rate` with the counts per cause. Returns metadata."""
    record_problems(context, state, table, problems)
    metadata: dict[str, Any] = {
        "rows_read": total,
        "rows_left_out": total - kept,
        "bad_rows": errors_table(problems),
    }
    try:
        check_error_rate(table, problems, total, kept, settings.max_error_rate)
    except TooManyBadRows as exc:
        # Too many bad rows is the data, not the network: a retry would read the same rows.
        raise dg.Failure(
            description=str(exc), metadata={**metadata, "by_cause": exc.causes}, allow_retries=False
        ) from exc
    return metadata


@dg.asset(group_name=GROUP, kinds={"stripe", "pandas"}, owners=OWNERS, deps=[stripe_snapshot])
def stripe_customers(
    context: dg.AssetExecutionContext, state: StateStoreResource, settings: SyncSettings
) -> dg.MaterializeResult[pd.DataFrame]:
    """Every Stripe customer of the stored snapshot with its email and the account id from its metadata.

    Deleted customers and customers without a unique id are reported in `sync_errors` and left out.
    """
    key = settings.account_metadata_key
    rows, problems = [], []
    for c in StripeSnapshotStore(state.store).iter_payloads("customer"):  # streamed: rows kept, not JSON
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
    total = len(listed) + len(problems)
    checked = _report_bad_rows(context, state, settings, "customer", [*problems, *key_problems], total, len(frame))
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            "without_account_metadata": int(frame["metadata_account_id"].isna().sum()),
            "stripe_api_version": stripe_sdk.api_version,
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
    },
    deps=[stripe_snapshot],
)
def stripe_subscription_snapshot(
    context: dg.AssetExecutionContext, state: StateStoreResource
) -> Iterator[dg.MaterializeResult]:
    """One pass over the stored snapshot's subscriptions.

    Prices (with tiers), products and coupons are stored apart and joined onto the items,
    because Stripe cannot expand them that deep on a subscription list. A subscription that
    cannot be read is left out of the items, recorded in `sync_errors` naming its id and field,
    and listed in `unreadable_subscriptions` so its account is held back rather than shown as free.
    """
    snapshot = StripeSnapshotStore(state.store)
    products, prices, coupons = snapshot.load("product"), snapshot.load("price"), snapshot.load("coupon")
    # Customers Stripe deleted that a subscription not yet ended still names (stripe_sync keeps them).
    deleted = {c["id"] for c in snapshot.iter_payloads("customer") if c.get("deleted")}
    cancel_at: dict[str, int | None] = {}
    customers: dict[str, str | None] = {}

    invalid: list[RowProblem] = []

    def joined() -> Iterator[dict]:
        for subscription in snapshot.iter_payloads("subscription"):  # streamed: never all the JSON at once
            # A scheduled cancellation date is not a revenue field; the lifecycle status needs it.
            cancel_at[subscription["id"]] = subscription.get("cancel_at")
            customers[subscription["id"]] = customer_id(subscription)
            problems = check_subscription(subscription, deleted)
            if problems:
                invalid.extend(problems)
                continue
            yield attach_price_details(with_prices(subscription, prices), prices, products)

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


@network_asset(kinds={"sqlalchemy", "pandas"})
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


@network_asset(kinds={"sqlalchemy", "pandas"})
def warehouse_accounts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Product accounts (Intercom companies): account_id, name, created_at (UTC).

    A row with a missing or duplicate account_id, or a created_at that is no timestamp or in the
    future, is reported in `sync_errors` and left out.
    """
    return _validated_table(context, state, settings, "accounts", warehouse.read_accounts(), "account_id")


@network_asset(kinds={"sqlalchemy", "pandas"})
def warehouse_users(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Product users (Intercom contacts): user_id, account_id, email, name, created_at (UTC).

    A row with a missing or duplicate user_id (every duplicate), or a created_at that is no
    timestamp or in the future, is reported in `sync_errors` and left out.
    """
    return _validated_table(context, state, settings, "users", warehouse.read_users(), "user_id")


@network_asset(kinds={"sqlalchemy", "pandas"})
def usage_aggregates(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Per user: lifetime and last-30-days counts per usage metric, and the last activity.

    Aggregated inside the warehouse with one GROUP BY; raw events never reach this process. Events
    whose occurred_at is not a timestamp cannot be counted: each is reported in `sync_errors`.
    Metadata: `newest_event_at` (the freshness check's input), `active_users_30d`, `uncountable_events`.
    """
    aggregated = warehouse.usage_aggregates(settings.usage_metrics, settings.now())
    unique, _ = check_keys(aggregated, "users", "user_id")  # the users' key problems are warehouse_users' report
    frame = aggregated[unique].reset_index(drop=True)
    problems = [
        RowProblem(
            "usage_events",
            str(r.user_id),
            "occurred_at",
            "unparseable_date",
            raw_excerpt(r.occurred_at),
            f"event {r.event_name}",
        )
        for r in warehouse.unparseable_usage().itertuples()
    ]
    record_problems(context, state, "usage_events", problems)
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
            "uncountable_events": len(problems),
            "bad_rows": errors_table(problems),
        },
    )
