"""Build the contact and company attribute frames the push sends to Intercom (pure pandas).

Inputs are the warehouse users/accounts, the in-warehouse usage aggregates and the per-account
revenue rollup (`revenue_by_account`). Output columns are exactly the identity fields the push
needs plus one column per catalog attribute; a missing value is NA, which the push clears.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from assets.attributes.catalog import COMPANY_ATTRIBUTES, CONTACT_REVENUE_ATTRIBUTES
from assets.revenue import currency_exponent

FREE_STATUS = "free"
_EPOCH = pd.Timestamp(0, tz="UTC")


def unix_seconds(values: pd.Series) -> pd.Series:
    """UTC timestamps -> nullable integer Unix seconds (Intercom's date format).

    Computed from a timedelta, not `astype(int64)`, whose unit depends on the frame's resolution.
    """
    stamps = pd.to_datetime(values, utc=True)
    seconds = pd.Series(pd.NA, index=values.index, dtype="Int64")
    present = stamps.notna()
    seconds[present] = (stamps[present] - _EPOCH) // pd.Timedelta(seconds=1)
    return seconds


def to_major(amount_minor: pd.Series, currency: pd.Series) -> pd.Series:
    """Minor units -> major units as floats, per row's currency exponent (jpy has none)."""
    divisor = currency.map(lambda c: 10 ** currency_exponent(c) if isinstance(c, str) else np.nan)
    return (amount_minor.astype("Float64") / divisor.astype("Float64")).round(3)


def account_revenue_fields(
    account_revenue: pd.DataFrame, trends: pd.DataFrame, reporting_currency: str
) -> pd.DataFrame:
    """Per account_id: the revenue attribute values shared by the account and its contacts."""
    revenue = account_revenue.set_index("account_id")
    trend = trends.set_index("account_id").reindex(revenue.index)
    reporting = pd.Series(reporting_currency, index=revenue.index)
    return pd.DataFrame(
        {
            "plan": revenue["plan"],
            "plan_interval": revenue["plan_interval"],
            "seat_count": revenue["seat_count"].astype("Int64"),
            "mrr": to_major(revenue["mrr_minor"], revenue["mrr_currency"]),
            "arr": to_major(revenue["arr_minor"], revenue["mrr_currency"]),
            "mrr_currency": revenue["mrr_currency"],
            "reporting_mrr": to_major(
                revenue["reporting_mrr_minor"], pd.Series(reporting_currency, index=revenue.index)
            ),
            "trial_mrr": to_major(revenue["trial_mrr_minor"], revenue["mrr_currency"]),
            "subscription_status": revenue["subscription_status"],
            "trial_end_at": unix_seconds(revenue["trial_end_at"]),
            "current_period_end_at": unix_seconds(revenue["current_period_end_at"]),
            "cancel_at_period_end": revenue["cancel_at_period_end"].astype("boolean"),
            "expires_at": unix_seconds(revenue["expires_at"]),
            "customer_since": unix_seconds(revenue["customer_since"]),
            "mrr_change_30d": to_major(trend["mrr_change_30d_minor"], reporting),
            "last_mrr_movement": trend["last_mrr_movement"],
        },
        index=revenue.index,
    )


def _free_defaults(frame: pd.DataFrame, reporting_currency: str, free_plan: str) -> pd.DataFrame:
    """Accounts with no subscription: free plan, zero revenue, no dates."""
    no_revenue = frame["plan"].isna()
    frame.loc[no_revenue, "plan"] = free_plan
    frame.loc[no_revenue, "subscription_status"] = FREE_STATUS
    frame.loc[no_revenue, "mrr_currency"] = reporting_currency
    for column in ("mrr", "arr", "reporting_mrr", "trial_mrr"):
        frame.loc[no_revenue, column] = 0.0
    frame.loc[no_revenue, "cancel_at_period_end"] = False
    return frame


def contact_frame(
    users: pd.DataFrame,
    usage: pd.DataFrame,
    revenue_fields: pd.DataFrame,
    *,
    as_of: datetime,
    usage_columns: Sequence[str],
    reporting_currency: str,
    free_plan: str = "free",
) -> pd.DataFrame:
    """One row per user: identity, the account's revenue fields and own usage (segments: assets/plays)."""
    contacts = pd.DataFrame(
        {
            "external_id": users["user_id"].astype(str),
            "email": users["email"],
            "name": users["name"],
            "company_id": users["account_id"].astype("string"),
            "signed_up_at": unix_seconds(users["created_at"]),
        }
    )
    created = pd.to_datetime(users["created_at"], utc=True)
    contacts["account_age_days"] = ((pd.Timestamp(as_of) - created).dt.days).astype("Int64")

    revenue = revenue_fields.reindex(users["account_id"].astype(str).to_numpy())
    revenue.index = contacts.index
    revenue = _free_defaults(revenue, reporting_currency, free_plan)
    contacts = contacts.join(revenue)

    counts = usage.set_index("user_id").reindex(contacts["external_id"].to_numpy())
    counts.index = contacts.index
    for column in usage_columns:
        contacts[column] = counts[column].fillna(0).astype("Int64")
    contacts["last_active_at"] = unix_seconds(counts["last_active_at"])

    ordered = [s.name for s in CONTACT_REVENUE_ATTRIBUTES] + list(usage_columns)
    return contacts[["external_id", "email", "name", "company_id", "signed_up_at", *ordered]].reset_index(drop=True)


def company_frame(
    accounts: pd.DataFrame,
    users: pd.DataFrame,
    revenue_fields: pd.DataFrame,
    *,
    reporting_currency: str,
    free_plan: str = "free",
) -> pd.DataFrame:
    """One row per account: Intercom's standard company fields plus the `account_*` attributes."""
    account_ids = accounts["account_id"].astype(str)
    revenue = revenue_fields.reindex(account_ids.to_numpy())
    revenue = _free_defaults(revenue, reporting_currency, free_plan)
    user_counts = users["account_id"].astype(str).value_counts().reindex(account_ids.to_numpy()).fillna(0)
    account_values = {
        "account_plan_interval": revenue["plan_interval"],
        "account_seat_count": revenue["seat_count"],
        "account_mrr": revenue["mrr"],
        "account_arr": revenue["arr"],
        "account_mrr_currency": revenue["mrr_currency"],
        "account_reporting_mrr": revenue["reporting_mrr"],
        "account_subscription_status": revenue["subscription_status"],
        "account_trial_end_at": revenue["trial_end_at"],
        "account_current_period_end_at": revenue["current_period_end_at"],
        "account_expires_at": revenue["expires_at"],
        "account_mrr_change_30d": revenue["mrr_change_30d"],
        "account_last_mrr_movement": revenue["last_mrr_movement"],
        "account_user_count": user_counts.astype("int64"),
    }
    companies = pd.DataFrame(
        {
            "company_id": account_ids.to_numpy(),
            "name": accounts["name"].to_numpy(),
            "remote_created_at": unix_seconds(accounts["created_at"]).to_numpy(),
            "plan": revenue["plan"].to_numpy(),
            # Intercom's monthly_spend is an integer; the push rounds this figure (docs/push.md).
            "monthly_spend": revenue["reporting_mrr"].to_numpy(),
            # KeyError here means the catalog gained a company attribute this frame does not compute.
            **{spec.name: account_values[spec.name].to_numpy() for spec in COMPANY_ATTRIBUTES},
        }
    )
    return companies
