"""Which accounts Stripe itself says stopped paying. Pure (frames in, figures out)."""

from __future__ import annotations

import pandas as pd


def accounts_stopped_in_stripe(subscriptions: pd.DataFrame, customer_accounts: pd.DataFrame) -> set[str]:
    """Accounts with a subscription Stripe shows cancelled, ended, or in a status that stops it counting."""
    stopped = (
        subscriptions["canceled_at"].notna()
        | subscriptions["ended_at"].notna()
        | (subscriptions["list_mrr_minor"] > subscriptions["mrr_minor"])
    )
    customers = set(subscriptions.loc[stopped, "customer_id"])
    mapping = customer_accounts.set_index("customer_id")["account_id"]
    return {str(mapping[c]) for c in customers if c in mapping.index}
