"""Accounts whose revenue could not be computed completely are held back from the push.

An account with a subscription that could not be read or priced, or whose reporting-currency MRR
is unknown (no exchange rate), would otherwise look free or lose its revenue in Intercom, and could
even enter a segment by mistake. Its contacts and company are left out of the run instead, so
Intercom keeps the last good values; every cause is already in `sync_errors` with its record.
"""

from __future__ import annotations

import pandas as pd


def unpriced_customers(items: pd.DataFrame, priced: pd.DataFrame, unreadable: pd.DataFrame) -> set[str]:
    """Customers with a subscription that was not read (`unreadable`) or not priced (in `items`
    but missing from the per-subscription frame `priced`)."""
    rejected = ~items["subscription_id"].isin(priced["subscription_id"])
    customers = set(items.loc[rejected, "customer_id"].dropna()) | set(unreadable["customer_id"].dropna())
    return {str(c) for c in customers}


def mark_incomplete(revenue: pd.DataFrame, unpriced: set[str], customer_to_account: pd.Series) -> pd.DataFrame:
    """`revenue` (per account) with `revenue_complete`, plus a row for each incomplete account that
    had no priced subscription at all."""
    held = {customer_to_account[c] for c in unpriced if c in customer_to_account.index}
    held |= set(revenue.loc[revenue["reporting_mrr_minor"].isna(), "account_id"])
    missing = sorted(held - set(revenue["account_id"]))
    rows = pd.DataFrame({"account_id": missing}, columns=revenue.columns)
    marked = pd.concat([revenue, rows], ignore_index=True) if missing else revenue.copy()
    marked["revenue_complete"] = ~marked["account_id"].isin(held)
    return marked


def held_back(frame: pd.DataFrame, revenue: pd.DataFrame, key: str = "company_id") -> tuple[pd.DataFrame, int]:
    """The rows of `frame` whose account is complete, and how many were held back."""
    incomplete = revenue.loc[~revenue["revenue_complete"].astype(bool), "account_id"]
    keep = ~frame[key].isin(set(incomplete))
    return frame[keep].reset_index(drop=True), int((~keep).sum())
