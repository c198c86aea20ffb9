"""Values Intercom would not accept, through the real push: reported per record, the rest written unchanged."""

from __future__ import annotations

from tests.assets.push.test_service import make_store, push
from tests.fixtures.synthetic import synthetic_frames


def test_an_over_long_email_and_a_huge_spend_are_errors_and_nothing_is_cut(
    intercom_emulator, intercom_token, sqlite_url
):
    contacts, companies = synthetic_frames(12, users_per_account=4)
    long_email = "a" * 300 + "@acme.io"
    contacts.loc[2, "email"] = long_email
    companies.loc[1, "monthly_spend"] = 1e12
    store = make_store(sqlite_url)

    result, _ = push(intercom_emulator, intercom_token, store, contacts, companies)

    refused_contact, refused_company = contacts.loc[2, "external_id"], companies.loc[1, "company_id"]
    members = contacts.loc[contacts["company_id"] == refused_company, "external_id"].tolist()
    assert sorted((e.record_key, e.field, e.code) for e in result.contacts.errors) == sorted(
        [(refused_contact, "email", "value_too_long"), *((m, "company_id", "company_not_synced") for m in members)]
    )
    assert [(e.record_key, e.field, e.code) for e in result.companies.errors] == [
        (refused_company, "monthly_spend", "value_out_of_range")
    ]
    pushed = intercom_emulator.app.contacts_by_external_id()
    assert refused_contact not in pushed and len(pushed) == len(contacts) - 1
    assert all(len(c["email"]) < 255 for c in pushed.values())  # no email was cut to fit
    assert refused_company not in intercom_emulator.app.companies_by_company_id()
    assert {e["record_key"] for e in store.errors_for_run("run")} == {refused_contact, refused_company, *members}
