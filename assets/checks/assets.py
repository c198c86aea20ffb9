"""Blocking asset checks on the frames the push reads: nothing reaches Intercom unless they pass.

Every check is `blocking`: a failure (ERROR) fails its step, so every asset downstream of the
checked one, the Intercom push included, is skipped in that run. `segment_sizes_steady` only warns.
An operator may accept a named check's failure for one run (`acknowledged_checks` in run config):
it is then recorded as a failed WARN evaluation, which does not block. The key checks cannot be
acknowledged: Intercom upserts by those keys. Thresholds come from the
`checks` resource (resources/check_settings.py); the logic is in `assets/checks/rules.py`.
"""

from collections.abc import Callable

import dagster as dg
import pandas as pd

from assets.attributes.frames import to_major
from assets.checks.last_push import accounts_stopped_in_stripe
from assets.checks.rules import CheckOutcome, revenue_swing, segment_swing, share_at_most, unique_keys, usage_freshness
from assets.plays.update import MembershipUpdate
from assets.push.plan import CUSTOM
from resources.check_settings import AcknowledgedChecks, CheckSettings
from resources.intercom import IntercomResource
from resources.settings import SyncSettings
from resources.state import StateStoreResource


def evaluation(
    context: dg.AssetCheckExecutionContext,
    outcome: CheckOutcome,
    acknowledged: AcknowledgedChecks,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    acknowledgeable: bool = True,
) -> dg.AssetCheckResult:
    """The check's result; a failure the run acknowledged becomes a non-blocking WARN."""
    name = context.check_specs[0].name
    metadata: dict[str, int | float | str | bool] = {**outcome.metadata}
    if outcome.passed:
        return dg.AssetCheckResult(passed=True, description=outcome.summary, metadata=metadata)
    if name in acknowledged.names and not acknowledgeable:
        context.log.error(f"check {name} cannot be acknowledged: Intercom upserts by this key")
    elif name in acknowledged.names:
        context.log.warning(f"check {name} failed and was acknowledged for this run: {outcome.summary}")
        metadata["acknowledged"] = True
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"acknowledged for this run: {outcome.summary}",
            metadata=metadata,
        )
    log = context.log.error if severity == dg.AssetCheckSeverity.ERROR else context.log.warning
    log(f"check {name} failed: {outcome.summary}")
    return dg.AssetCheckResult(passed=False, severity=severity, description=outcome.summary, metadata=metadata)


def _keys_unique(model: str, records: str, key: str) -> dg.AssetChecksDefinition:
    """The blocking check `<model>_keys_unique` on `<model>_attributes`: the frame's `key` column."""

    @dg.asset_check(
        asset=f"{model}_attributes",
        name=f"{model}_keys_unique",
        blocking=True,
        description=f"Every {model} has its `{key}` and no two share one. Intercom upserts by it, so this "
        "check cannot be acknowledged: fix the warehouse rows.",
    )
    def keys_unique(
        context: dg.AssetCheckExecutionContext, frame: pd.DataFrame, acknowledged_checks: AcknowledgedChecks
    ) -> dg.AssetCheckResult:
        return evaluation(context, unique_keys(frame, key, records), acknowledged_checks, acknowledgeable=False)

    return keys_unique


contact_keys_unique = _keys_unique("contact", "contacts", "external_id")
company_keys_unique = _keys_unique("company", "companies", "company_id")


@dg.asset_check(asset="usage_aggregates", blocking=True)
def usage_events_fresh(
    context: dg.AssetCheckExecutionContext,
    usage_aggregates: pd.DataFrame,
    settings: SyncSettings,
    checks: CheckSettings,
    acknowledged_checks: AcknowledgedChecks,
) -> dg.AssetCheckResult:
    """The newest usage event is younger than `usage_max_age_hours` (default 36): a stale
    warehouse would silently empty every usage segment."""
    newest = usage_aggregates["last_active_at"].max()
    outcome = usage_freshness(
        None if pd.isna(newest) else newest.to_pydatetime(), settings.now(), checks.usage_max_age_hours
    )
    return evaluation(context, outcome, acknowledged_checks)


def _share_check(
    name: str,
    asset: str,
    other: str,
    counted: Callable[[pd.DataFrame, pd.DataFrame], tuple[int, int]],
    limit: Callable[[CheckSettings], float],
    what: str,
    look_at: str,
    description: str,
) -> dg.AssetChecksDefinition:
    """A blocking check that `counted(asset's frame, other's frame)` = (count, total) stays at most
    `limit(checks)` percent; its failure names `what` and where to `look_at`."""

    @dg.asset_check(
        asset=asset, name=name, blocking=True, additional_ins={"other": dg.AssetIn(other)}, description=description
    )
    def share(
        context: dg.AssetCheckExecutionContext,
        frame: pd.DataFrame,
        other: pd.DataFrame,
        checks: CheckSettings,
        acknowledged_checks: AcknowledgedChecks,
    ) -> dg.AssetCheckResult:
        count, total = counted(frame, other)
        return evaluation(context, share_at_most(count, total, limit(checks), what, look_at), acknowledged_checks)

    return share


def _unmatched_customers(customer_accounts: pd.DataFrame, stripe_customers: pd.DataFrame) -> tuple[int, int]:
    unmatched = int((~stripe_customers["customer_id"].isin(customer_accounts["customer_id"])).sum())
    return unmatched, len(stripe_customers)


def _unreadable_subscriptions(unreadable: pd.DataFrame, stripe_subscriptions: pd.DataFrame) -> tuple[int, int]:
    return len(unreadable), int(stripe_subscriptions["subscription_id"].nunique()) + len(unreadable)


unmatched_customers_share = _share_check(
    "unmatched_customers_share",
    "customer_accounts",
    "stripe_customers",
    _unmatched_customers,
    lambda checks: checks.max_unmatched_customer_percent,
    "Stripe customers match no account",
    "customer_accounts' unmatched_customers and the customers' account metadata",
    "Stripe customers matching no account stay under `max_unmatched_customer_percent`.",
)
unreadable_subscriptions_share = _share_check(
    "unreadable_subscriptions_share",
    "unreadable_subscriptions",
    "stripe_subscriptions",
    _unreadable_subscriptions,
    lambda checks: checks.max_unreadable_subscription_percent,
    "Stripe subscriptions could not be read",
    "unreadable_subscriptions (field and message per subscription)",
    "Subscriptions that could not be read stay under `max_unreadable_subscription_percent`.",
)


@dg.asset_check(asset="account_revenue", blocking=True)
def held_back_accounts_share(
    context: dg.AssetCheckExecutionContext,
    account_revenue: pd.DataFrame,
    checks: CheckSettings,
    acknowledged_checks: AcknowledgedChecks,
) -> dg.AssetCheckResult:
    """Accounts held back for incomplete revenue stay under `max_held_back_percent`."""
    outcome = share_at_most(
        int((~account_revenue["revenue_complete"].astype(bool)).sum()),
        len(account_revenue),
        checks.max_held_back_percent,
        "accounts are held back (incomplete revenue)",
        "sync_errors for this run (model subscription / account) and unreadable_subscriptions",
    )
    return evaluation(context, outcome, acknowledged_checks)


@dg.asset_check(
    asset="account_revenue",
    blocking=True,
    additional_ins={"subscription_revenue": dg.AssetIn(), "customer_accounts": dg.AssetIn()},
)
def revenue_swing_explained(
    context: dg.AssetCheckExecutionContext,
    account_revenue: pd.DataFrame,
    subscription_revenue: pd.DataFrame,
    customer_accounts: pd.DataFrame,
    state: StateStoreResource,
    intercom: IntercomResource,
    settings: SyncSettings,
    checks: CheckSettings,
    acknowledged_checks: AcknowledgedChecks,
) -> dg.AssetCheckResult:
    """Total reporting MRR moves more than `mrr_swing_percent` (default 20 %) against the last push
    only when Stripe's cancellations, ends and status changes explain it (see rules.revenue_swing)."""
    mrr_key = CUSTOM + intercom.attribute_prefix + "account_reporting_mrr"
    last = state.store.confirmed_numbers("company", mrr_key)
    complete = account_revenue["revenue_complete"].astype(bool)
    minor = account_revenue[complete].set_index("account_id")["reporting_mrr_minor"].fillna(0)
    current = to_major(minor, pd.Series(settings.reporting_currency, index=minor.index)).astype(float)
    outcome = revenue_swing(
        last.astype(float),
        current,
        set(account_revenue.loc[~complete, "account_id"].astype(str)),
        accounts_stopped_in_stripe(subscription_revenue, customer_accounts),
        checks.mrr_swing_percent,
    )
    return evaluation(context, outcome, acknowledged_checks)


@dg.asset_check(asset="segment_membership", blocking=True)
def segment_sizes_steady(
    context: dg.AssetCheckExecutionContext,
    segment_membership: MembershipUpdate,
    state: StateStoreResource,
    intercom: IntercomResource,
    checks: CheckSettings,
    acknowledged_checks: AcknowledgedChecks,
) -> dg.AssetCheckResult:
    """Each play's treatment size (who the segment attribute marks) against the last push; more
    than `segment_swing_percent` warns (never blocks)."""
    prefix = intercom.attribute_prefix
    current: dict[str, int] = {}
    last: dict[str, int] = {}
    by_model: dict[str, list[str]] = {"contact": [], "company": []}
    for change in segment_membership.changes:
        current[change.segment] = change.sizes()["treatment"]
        model = "contact" if change.segment in segment_membership.columns["contact"].columns else "company"
        by_model[model].append(change.segment)
    for model, segments in by_model.items():  # one pass over each model's state rows, in the database
        marked = state.store.count_true(model, [CUSTOM + prefix + segment for segment in segments])
        last.update({segment: marked[CUSTOM + prefix + segment] for segment in segments})
    outcome = segment_swing(last, current, checks.segment_swing_percent)
    return evaluation(context, outcome, acknowledged_checks, severity=dg.AssetCheckSeverity.WARN)
