"""Map Stripe customers to product accounts.

A customer belongs to the account named in its metadata (key configurable, default `account_id`);
without that key, to the account of the user whose email equals the customer's email, compared
case-insensitively. Anything else (an unknown account id, no matching email, an email shared by
users of different accounts) is reported with the customer id and the field, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class MatchProblem:
    record: str  # the Stripe customer id
    field: str
    message: str


def _normalise_email(emails: pd.Series) -> pd.Series:
    return emails.astype("string").str.strip().str.lower()


def match_customers(
    customers: pd.DataFrame, users: pd.DataFrame, account_ids: pd.Series, metadata_key: str = "account_id"
) -> tuple[pd.DataFrame, list[MatchProblem]]:
    """Return (customer_id, account_id, matched_by) for every matchable customer, and the problems.

    `customers` has `customer_id`, `email` and `metadata_account_id` (the metadata value, or None);
    `users` has `account_id` and `email`; `account_ids` lists the accounts that exist.
    """
    known_accounts = set(account_ids.astype(str))
    problems: list[MatchProblem] = []

    by_metadata = customers[customers["metadata_account_id"].notna()]
    unknown = ~by_metadata["metadata_account_id"].astype(str).isin(known_accounts)
    for row in by_metadata[unknown].itertuples():
        problems.append(
            MatchProblem(
                str(row.customer_id),
                f"metadata.{metadata_key}",
                f"names account {row.metadata_account_id!r}, which is not in the warehouse",
            )
        )
    matched = by_metadata[~unknown].assign(account_id=lambda f: f["metadata_account_id"].astype(str))
    matched = matched[["customer_id", "account_id"]].assign(matched_by="metadata")

    rest = customers[customers["metadata_account_id"].isna()].assign(email_key=lambda f: _normalise_email(f["email"]))
    user_accounts = (
        users.assign(email_key=_normalise_email(users["email"]))
        .dropna(subset=["email_key"])
        .groupby("email_key")["account_id"]
        .agg(lambda s: sorted(set(s.astype(str))))
    )
    candidates = rest["email_key"].map(user_accounts)
    for row, accounts in zip(rest.itertuples(), candidates, strict=True):
        if not isinstance(accounts, list):
            message = (
                "has no account metadata and no user with this email"
                if pd.notna(row.email)
                else ("has neither account metadata nor an email")
            )
            problems.append(MatchProblem(str(row.customer_id), "email", message))
        elif len(accounts) > 1:
            problems.append(
                MatchProblem(str(row.customer_id), "email", f"email is shared by users of several accounts: {accounts}")
            )
    single = candidates.map(lambda a: a[0] if isinstance(a, list) and len(a) == 1 else None)
    by_email = rest.assign(account_id=single)[["customer_id", "account_id"]].dropna().assign(matched_by="email")

    mapping = pd.concat([matched, by_email], ignore_index=True)
    return mapping.reset_index(drop=True), problems
