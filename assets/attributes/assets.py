"""Attributes: revenue per subscription and account, then the contact and company frames to push."""

from typing import Any

import dagster as dg
import pandas as pd

from assets.attributes.account_lifecycle import account_lifecycle
from assets.attributes.catalog import usage_attributes
from assets.attributes.frames import account_revenue_fields, company_frame, contact_frame
from assets.attributes.held_back import held_back, mark_incomplete, unpriced_customers
from assets.attributes.matching import match_customers
from assets.metadata import errors_table, preview, record_problems
from assets.revenue import Money, mrr_by_subscription, revenue_by_account, rules_for_run
from assets.revenue.assets import customer_mrr_movements
from assets.revenue.history_store import MrrHistory
from assets.revenue.trends import account_trends
from resources.settings import SyncSettings
from resources.state import StateStoreResource

GROUP = "attributes"
OWNERS = ["team:revops"]


@dg.asset(group_name=GROUP, kinds={"pandas"}, owners=OWNERS)
def customer_accounts(
    context: dg.AssetExecutionContext,
    stripe_customers: pd.DataFrame,
    warehouse_users: pd.DataFrame,
    warehouse_accounts: pd.DataFrame,
    settings: SyncSettings,
    state: StateStoreResource,
) -> dg.MaterializeResult[pd.DataFrame]:
    """Which account each Stripe customer belongs to: by metadata, else by a user's email.

    Customers that match nothing, or match ambiguously, are reported, never guessed.
    """
    mapping, problems = match_customers(
        stripe_customers, warehouse_users, warehouse_accounts["account_id"], settings.account_metadata_key
    )
    record_problems(context, state, "customer", problems)
    return dg.MaterializeResult(
        value=mapping,
        metadata={
            "dagster/row_count": len(mapping),
            "matched_by_metadata": int((mapping["matched_by"] == "metadata").sum()),
            "matched_by_email": int((mapping["matched_by"] == "email").sum()),
            "unmatched": len(problems),
            "unmatched_customers": errors_table(problems),
        },
    )


@dg.asset(group_name=GROUP, kinds={"pandas"}, owners=OWNERS)
def subscription_revenue(
    context: dg.AssetExecutionContext,
    stripe_subscriptions: pd.DataFrame,
    settings: SyncSettings,
    state: StateStoreResource,
) -> dg.MaterializeResult[pd.DataFrame]:
    """MRR, trial MRR, plan, seats, status and dates per subscription, by the rules in docs/revenue.md."""
    frame, errors = mrr_by_subscription(
        stripe_subscriptions, rules_for_run(settings.reporting_currency, settings.parsed_fx_rates()), settings.now()
    )
    cancel_at = stripe_subscriptions.drop_duplicates("subscription_id").set_index("subscription_id")["cancel_at"]
    frame["cancel_at"] = frame["subscription_id"].map(cancel_at)
    record_problems(context, state, "subscription", errors)
    counted = frame[frame["mrr_minor"] > 0]
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            "counting_toward_mrr": len(counted),
            "mrr_by_currency": dg.MetadataValue.json(
                {
                    str(k): float(Money(int(v), str(k)).major())
                    for k, v in counted.groupby("currency")["mrr_minor"].sum().items()
                }
            ),
            "errors": errors_table(errors),
        },
    )


@dg.asset(group_name=GROUP, kinds={"pandas"}, owners=OWNERS)
def account_revenue(
    context: dg.AssetExecutionContext,
    subscription_revenue: pd.DataFrame,
    stripe_subscriptions: pd.DataFrame,
    unreadable_subscriptions: pd.DataFrame,
    customer_accounts: pd.DataFrame,
    fx_rates: pd.DataFrame,
    settings: SyncSettings,
    state: StateStoreResource,
) -> dg.MaterializeResult[pd.DataFrame]:
    """Revenue per account: the sum over its customers' subscriptions, in its currency and the reporting one.

    Metadata: `mrr_<reporting currency>` (total MRR, major units), `paying_accounts`,
    `incomplete_accounts` (held back from the push) and the per-record `errors`.

    `revenue_complete` is False for an account with a subscription that could not be read or
    priced, or without an exchange rate: its contacts and company are held back from the push.
    """
    mapping = customer_accounts.set_index("customer_id")["account_id"]
    rules = rules_for_run(settings.reporting_currency, settings.parsed_fx_rates(), fx_rates)
    frame, errors = revenue_by_account(subscription_revenue, mapping, rules)
    # Unmatched customers are already reported by customer_accounts.
    errors = [e for e in errors if e.field != "customer"]
    # Stripe's status says `active` until a cancelled period ends; the lifecycle state says more.
    lifecycle = account_lifecycle(subscription_revenue, mapping)
    frame = frame.drop(columns=["subscription_status"]).merge(lifecycle, on="account_id", how="left")
    unpriced = unpriced_customers(stripe_subscriptions, subscription_revenue, unreadable_subscriptions)
    frame = mark_incomplete(frame, unpriced, mapping)
    record_problems(context, state, "account", errors)
    reporting_total = int(frame["reporting_mrr_minor"].dropna().sum()) if len(frame) else 0
    currency = rules.reporting_currency.lower()
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            f"mrr_{currency}": float(Money(reporting_total, currency).major()),
            "paying_accounts": int((frame["reporting_mrr_minor"].fillna(0) > 0).sum()),
            "incomplete_accounts": int((~frame["revenue_complete"]).sum()),
            "errors": errors_table(errors),
            "preview": preview(frame),
        },
    )


def _without_held_back(
    frame: pd.DataFrame, account_revenue: pd.DataFrame, **figures: Any
) -> dg.MaterializeResult[pd.DataFrame]:
    """The frame less the records held back this run, with the figures a person reads."""
    frame, held = held_back(frame, account_revenue)
    metadata = {"dagster/row_count": len(frame), "held_back": held, **figures, "preview": preview(frame)}
    return dg.MaterializeResult(value=frame, metadata=metadata)


@dg.asset(group_name=GROUP, kinds={"pandas"}, owners=OWNERS)
def contact_attributes(
    warehouse_users: pd.DataFrame,
    usage_aggregates: pd.DataFrame,
    account_revenue: pd.DataFrame,
    account_mrr_trends: pd.DataFrame,
    settings: SyncSettings,
) -> dg.MaterializeResult[pd.DataFrame]:
    """One row per user: identity, the account's revenue fields and own usage.

    Segment membership is the plays group's (plays.yaml, `segment_membership`). Users of an account
    whose revenue is incomplete are held back this run (see assets/attributes/held_back.py).
    """
    reporting = settings.reporting_currency.lower()
    frame = contact_frame(
        warehouse_users,
        usage_aggregates,
        account_revenue_fields(account_revenue, account_mrr_trends, reporting),
        as_of=settings.now(),
        usage_columns=[spec.name for spec in usage_attributes(settings.usage_metrics)],
        reporting_currency=reporting,
    )
    return _without_held_back(
        frame,
        account_revenue,
        plans=dg.MetadataValue.json({str(k): int(v) for k, v in frame["plan"].value_counts().items()}),
    )


@dg.asset(group_name=GROUP, kinds={"pandas"}, owners=OWNERS)
def company_attributes(
    warehouse_accounts: pd.DataFrame,
    warehouse_users: pd.DataFrame,
    account_revenue: pd.DataFrame,
    account_mrr_trends: pd.DataFrame,
    settings: SyncSettings,
) -> dg.MaterializeResult[pd.DataFrame]:
    """One row per account: Intercom's company fields (plan, monthly_spend) and the `account_*` attributes.

    An account whose revenue is incomplete is held back this run (see assets/attributes/held_back.py).
    """
    reporting = settings.reporting_currency.lower()
    frame = company_frame(
        warehouse_accounts,
        warehouse_users,
        account_revenue_fields(account_revenue, account_mrr_trends, reporting),
        reporting_currency=reporting,
    )
    return _without_held_back(frame, account_revenue, paying_accounts=int((frame["account_mrr"].fillna(0) > 0).sum()))


@dg.asset(group_name=GROUP, kinds={"pandas"}, owners=OWNERS, deps=[customer_mrr_movements])
def account_mrr_trends(
    account_revenue: pd.DataFrame, settings: SyncSettings, state: StateStoreResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Per account: `mrr_change_30d` (today's MRR against the history 30 days ago) and
    `last_mrr_movement` (the latest movement in the last 90 days of history)."""
    history = MrrHistory(state.store)
    frame = account_trends(history, account_revenue, settings.now().date())
    recorded = history.recorded_days()
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "dagster/row_count": len(frame),
            "history_days": f"{recorded[0]} .. {recorded[1]}" if recorded else "none yet",
            "accounts_with_change": int(frame["mrr_change_30d_minor"].notna().sum()),
            "last_movements": dg.MetadataValue.json(
                {str(k): int(v) for k, v in frame["last_mrr_movement"].value_counts().items()}
            ),
        },
    )
