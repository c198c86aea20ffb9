"""A deleted Stripe customer in the stored snapshot, through `stripe_customers` and `customer_accounts`.

Stripe answers for a deleted customer with `{"id", "object": "customer", "deleted": true}` and
nothing else (no email, no metadata). The two Dagster assets read that from the real state store;
the customer must be reported as deleted, not as a customer without metadata or email, and the
live customers must still be matched. tests/e2e/test_bad_input_causes.py deletes one in Stripe.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from assets.attributes.assets import customer_accounts
from assets.ingest.assets import stripe_customers
from assets.ingest.stripe_store import Changes, IngestCursor, StripeSnapshotStore
from resources.settings import SyncSettings
from resources.state import StateStore, StateStoreResource

# Twenty live customers, so one deleted stays under the default 5 % of bad rows that fails the step.
LIVE = [{"id": f"cus_{n:02}", "object": "customer", "email": "ann@a1.example", "metadata": {}, "created": n}
        for n in range(20)]  # fmt: skip
DELETED = {"id": "cus_gone", "object": "customer", "deleted": True}  # what Stripe returns for it


@dg.asset(name="warehouse_users")
def users() -> pd.DataFrame:
    created = pd.Timestamp("2024-01-01", tz="UTC")
    return pd.DataFrame([{"user_id": "u1", "account_id": "a1", "email": "ann@a1.example", "name": "Ann",
                          "created_at": created}])  # fmt: skip


@dg.asset(name="warehouse_accounts")
def accounts() -> pd.DataFrame:
    return pd.DataFrame([{"account_id": "a1", "name": "A1", "created_at": pd.Timestamp("2024-01-01", tz="UTC")}])


def test_a_deleted_customer_is_reported_as_deleted_and_the_live_ones_matched(sqlite_url: str) -> None:
    state = StateStore(sqlite_url)
    state.create_all()
    StripeSnapshotStore(state).commit(
        Changes(upserts={"customer": [*LIVE, DELETED]}, replace_all=True), IngestCursor(0, None, 0, 0, 0), 0
    )

    result = dg.materialize(
        [users, accounts, stripe_customers, customer_accounts],
        resources={"state": StateStoreResource(url=sqlite_url), "settings": SyncSettings()},
        raise_on_error=False,
    )

    errors = [(e["model"], e["record_key"], e["field"], e["message"]) for e in state.errors_for_run(result.run_id)]
    assert errors == [
        ("customer", "cus_gone", "deleted", "customer cus_gone: deleted was deleted in Stripe; raw value True")
    ]
    mapping = result.output_for_node("customer_accounts")
    assert sorted(mapping["customer_id"]) == [c["id"] for c in LIVE]  # the live ones still match
    assert set(mapping["account_id"]) == {"a1"}
