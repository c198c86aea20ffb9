"""Who receives a lifecycle event."""

from __future__ import annotations

import pandas as pd

from assets.lifecycle.send import recipients


def test_recipients_are_the_users_of_the_named_customers_accounts_only() -> None:
    customer_accounts = pd.DataFrame({"customer_id": ["cus_1", "cus_2", "cus_3"], "account_id": ["acc_1", "acc_2", 3]})
    users = pd.DataFrame({"user_id": ["u_2", "u_1", "u_3", 4], "account_id": ["acc_1", "acc_1", "acc_2", 3]})
    assert recipients(customer_accounts, users, {"cus_1", "cus_3", "cus_unknown"}) == {
        "cus_1": ["u_1", "u_2"],
        "cus_3": ["4"],
    }
    assert recipients(customer_accounts, users.iloc[:0], {"cus_2"}) == {"cus_2": []}
    assert recipients(customer_accounts, users, set()) == {}
