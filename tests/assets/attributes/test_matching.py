import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

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


# -- the vectorised matcher against the rule written out row by row -----------------------------
EMAILS = st.sampled_from(["a@x.io", "A@x.io ", "b@x.io", "c@x.io", None])


def _by_rule(rows: list[tuple], users: list[tuple]) -> tuple[dict[str, str], dict[str, str]]:
    """customer → account, and customer → problem message, straight from the module's docstring."""
    accounts: dict[str, set[str]] = {}
    for account, email in users:
        if email is not None:
            accounts.setdefault(email.strip().lower(), set()).add(account)
    matched, problems = {}, {}
    for customer, email, metadata in rows:
        if metadata is not None:
            matched[customer] = metadata  # every metadata account exists below
            continue
        found = sorted(accounts.get(email.strip().lower(), ())) if email is not None else []
        if len(found) == 1:
            matched[customer] = found[0]
        elif len(found) > 1:
            problems[customer] = f"email is shared by users of several accounts: {found}"
        elif email is not None:
            problems[customer] = "has no account metadata and no user with this email"
        else:
            problems[customer] = "has neither account metadata nor an email"
    return matched, problems


@given(
    st.lists(st.tuples(EMAILS, st.sampled_from([None, "a1", "a2"])), max_size=12),
    st.lists(st.tuples(st.sampled_from(["a1", "a2", "a3"]), EMAILS), max_size=12),
)
def test_matching_follows_the_rule_row_by_row(customer_rows, user_rows):
    rows = [(f"cus_{i}", email, metadata) for i, (email, metadata) in enumerate(customer_rows)]
    users = pd.DataFrame(user_rows, columns=["account_id", "email"], dtype=object)
    mapping, problems = match_customers(customers(*rows), users, pd.Series(["a1", "a2", "a3"]))
    matched, expected_problems = _by_rule(rows, user_rows)
    assert dict(zip(mapping["customer_id"], mapping["account_id"], strict=True)) == matched
    assert {p.record: p.message for p in problems} == expected_problems
