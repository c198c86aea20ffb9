"""A monthly_spend beyond Intercom's 2**31-1 is an error for that company, never capped (issue 12).

Through the push itself (`sync_intercom` over HTTP to the emulator): the company is left out, so
Intercom keeps its last good value, the failure names the company, the field and the value, and
every other company syncs. A Stripe quantity that is impossible never gets this far
(tests/e2e/test_bad_input_causes.py); this is a real amount that no 32-bit integer holds.
"""

from __future__ import annotations

from tests.assets.push.test_service import make_store, push
from tests.fixtures.synthetic import synthetic_frames


def test_a_monthly_spend_beyond_int32_is_refused_not_capped(intercom_emulator, intercom_token, sqlite_url):
    contacts, companies = synthetic_frames(12, users_per_account=2)
    big = companies.loc[0, "company_id"]
    companies.loc[0, "monthly_spend"] = 3_000_000_000.0  # 3 billion a month in the reporting currency
    store = make_store(sqlite_url)

    result, _ = push(intercom_emulator, intercom_token, store, contacts, companies)

    refused = [(e.record_key, e.field, e.code, e.message) for e in result.companies.errors]
    assert refused == [
        (
            big,
            "monthly_spend",
            "value_out_of_range",
            "monthly_spend 3000000000.0 is outside the range Intercom accepts (0 to 2147483647); never capped",
        )
    ]
    pushed = intercom_emulator.app.companies_by_company_id()
    assert set(pushed) == set(companies["company_id"]) - {big}  # the rest synced; nothing capped
    assert [e["record_key"] for e in store.errors_for_run("run") if e["model"] == "company"] == [big]
