"""What the last push left in Intercom, read from the state store's confirmed values, and which
accounts Stripe itself says stopped paying. Pure (frames in, figures out)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from assets.push.plan import CUSTOM


def pushed_attribute(state: pd.DataFrame, attribute: str) -> pd.Series:
    """Per record (the state's index), the last confirmed value of a custom attribute (full name)."""
    if state.empty:
        return pd.Series(dtype=object)
    key = CUSTOM + attribute
    values = state["values"].map(lambda v: v.get(key) if isinstance(v, dict) else None)
    return values.dropna()


def pushed_segment_sizes(state: pd.DataFrame, segments: Sequence[str], prefix: str = "") -> dict[str, int]:
    """Contacts the last push put in each segment (a missing value means not in it)."""
    return {name: int((pushed_attribute(state, prefix + name) == True).sum()) for name in segments}  # noqa: E712


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
