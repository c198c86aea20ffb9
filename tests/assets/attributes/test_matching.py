import pandas as pd

from assets.attributes.matching import match_customers


def customers(*rows):
    return pd.DataFrame(rows, columns=["customer_id", "email", "metadata_account_id"])


USERS = pd.DataFrame(
    [
        {"user_id": "u1", "account_id": "a1", "email": "Ann@Example.com"},
        {"user_id": "u2", "account_id": "a2", "email": "bob@example.com"},
        {"user_id": "u3", "account_id": "a3", "email": "shared@example.com"},
        {"user_id": "u4", "account_id": "a4", "email": "SHARED@example.com"},
    ]
)
ACCOUNTS = pd.Series(["a1", "a2", "a3", "a4"])


def test_metadata_wins_over_email():
    mapping, problems = match_customers(customers(("cus_1", "bob@example.com", "a1")), USERS, ACCOUNTS)
    assert mapping.to_dict("records") == [{"customer_id": "cus_1", "account_id": "a1", "matched_by": "metadata"}]
    assert problems == []


def test_email_fallback_is_case_insensitive():
    mapping, problems = match_customers(customers(("cus_2", " ann@EXAMPLE.com ", None)), USERS, ACCOUNTS)
    assert mapping.to_dict("records") == [{"customer_id": "cus_2", "account_id": "a1", "matched_by": "email"}]
    assert problems == []


def test_unknown_metadata_account_is_reported_not_guessed():
    mapping, problems = match_customers(customers(("cus_3", "ann@example.com", "a9")), USERS, ACCOUNTS)
    assert mapping.empty
    assert [(p.record, p.field) for p in problems] == [("cus_3", "metadata.account_id")]
    assert "'a9'" in problems[0].message


def test_ambiguous_and_unknown_emails_are_reported():
    mapping, problems = match_customers(
        customers(("cus_4", "shared@example.com", None), ("cus_5", "nobody@example.com", None), ("cus_6", None, None)),
        USERS,
        ACCOUNTS,
    )
    assert mapping.empty
    assert {p.record: p.field for p in problems} == {"cus_4": "email", "cus_5": "email", "cus_6": "email"}
    assert "several accounts" in problems[0].message
