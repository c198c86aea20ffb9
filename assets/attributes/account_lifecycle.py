"""The lifecycle `subscription_status` and `expires_at` of each account, from the nightly snapshot.

Uses the same state machine as the lifecycle events (assets/lifecycle/model/status.py), fed from the
per-subscription revenue frame, so an attribute and an event never disagree about a state.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from assets.lifecycle import LifecycleStatus, SnapshotFields, account_status, subscription_status


def _epoch(value: Any) -> int | None:  # one cell: NaN/NaT, a Timestamp or epoch seconds
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return int(value.timestamp())
    return int(value)  # epoch seconds already


def account_lifecycle(subscriptions: pd.DataFrame, customer_to_account: pd.Series) -> pd.DataFrame:
    """Per account: `subscription_status` (lifecycle state) and `expires_at` (UTC timestamp or NaT).

    `subscriptions` is `mrr_by_subscription`'s frame with a `cancel_at` column (epoch seconds).
    """
    accounts = subscriptions["customer_id"].map(customer_to_account)
    statuses: dict[str, list[LifecycleStatus]] = {}
    row: Any  # a row of the frame the docstring describes
    for row, account in zip(subscriptions.itertuples(index=False), accounts, strict=True):
        if not isinstance(account, str):
            continue  # unmatched customers are reported by customer_accounts
        fields = SnapshotFields(
            status=row.status,
            trial_end=_epoch(row.trial_end_at),
            cancel_at=_epoch(row.cancel_at),
            ended_at=_epoch(row.ended_at),
            period_end=_epoch(row.current_period_end_at),
            cancel_at_period_end=bool(row.cancel_at_period_end),
        )
        statuses.setdefault(account, []).append(subscription_status(fields, int(row.mrr_minor)))
    shown = {account: account_status(states) for account, states in statuses.items()}
    return pd.DataFrame(
        {
            "account_id": list(shown),
            "subscription_status": [s.state.value for s in shown.values()],
            # pandas-stubs leave None out of to_datetime's list types; pandas reads it as NaT.
            "expires_at": pd.to_datetime([s.expires_at for s in shown.values()], utc=True),  # type: ignore[arg-type]
        },
        columns=["account_id", "subscription_status", "expires_at"],
    )
