import pandas as pd

from assets.attributes.held_back import held_back, mark_incomplete, unpriced_customers

MAPPING = pd.Series({"cus_a": "acc_a", "cus_b": "acc_b", "cus_c": "acc_c"})


def revenue(*rows):
    return pd.DataFrame(rows, columns=["account_id", "mrr_minor", "reporting_mrr_minor"])


def test_unread_and_unpriced_subscriptions_name_their_customers():
    items = pd.DataFrame({"subscription_id": ["s1", "s2", "s3"], "customer_id": ["cus_a", "cus_b", "cus_b"]})
    priced = pd.DataFrame({"subscription_id": ["s1", "s2"]})  # s3 was rejected by the pricing step
    unreadable = pd.DataFrame({"subscription_id": ["s9"], "customer_id": ["cus_c"]})
    assert unpriced_customers(items, priced, unreadable) == {"cus_b", "cus_c"}


def test_incomplete_accounts_are_marked_and_missing_ones_added():
    marked = mark_incomplete(
        revenue(("acc_a", 1000, 1000), ("acc_b", 500, None), ("acc_d", 0, 0)),  # acc_b: no exchange rate
        unpriced={"cus_c", "cus_unknown"},
        customer_to_account=MAPPING,
    )
    assert dict(zip(marked["account_id"], marked["revenue_complete"], strict=True)) == {
        "acc_a": True,
        "acc_b": False,
        "acc_d": True,
        "acc_c": False,  # its only subscription was unreadable: a row, so it is not taken for free
    }


def test_rows_of_incomplete_accounts_are_held_back():
    marked = mark_incomplete(revenue(("acc_a", 1, 1), ("acc_b", 1, None)), set(), MAPPING)
    contacts = pd.DataFrame({"external_id": ["u1", "u2", "u3"], "company_id": ["acc_a", "acc_b", "acc_free"]})
    kept, held = held_back(contacts, marked)
    assert kept["external_id"].tolist() == ["u1", "u3"] and held == 1
