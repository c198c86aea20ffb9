"""The bad-input corpus (cases in bad_input_cases.py): the exact message, the good records synced, nothing lost.

Runnable alone: `pytest tests/e2e/test_bad_input_corpus.py`. Intercom groups share one emulator
world per case group where the cases do not interfere.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from pydantic import ValidationError

from assets.ingest.validation import check_customer, check_subscription, validate_rows
from emulators.http import FaultRule
from tests.assets.push.test_service import make_store, push
from tests.e2e.bad_input_cases import ANSWERS, CONFIG, FAULTS, ROWS, STRIPE, VALUES
from tests.fixtures.synthetic import synthetic_frames

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
KEYS = {"users": "user_id", "accounts": "account_id"}


def _ids(cases) -> list[str]:
    return [c.name for c in cases]


@pytest.mark.parametrize("case", CONFIG, ids=_ids(CONFIG))
def test_configuration(case):
    with pytest.raises(ValidationError) as raised:
        case.make()
    assert case.message in str(raised.value)
    assert "pw@" not in str(raised.value)  # a password in a URL is never echoed


@pytest.mark.parametrize("case", ROWS, ids=_ids(ROWS))
def test_warehouse_rows(case):
    key = KEYS[case.table]
    rows = [*case.rows, ("good-1", "2024-01-01T00:00:00Z"), ("good-2", None)]
    frame = pd.DataFrame(rows, columns=[key, "created_at"])
    kept, problems = validate_rows(frame, case.table, key, ["created_at"], NOW)
    assert [p.message for p in problems] == case.messages
    assert kept[key].tolist() == ["good-1", "good-2"]  # the good rows still sync
    assert len(kept) + len(problems) == len(frame)  # every row is kept or reported: nothing lost


@pytest.mark.parametrize("case", STRIPE, ids=_ids(STRIPE))
def test_stripe_objects(case):
    if case.customer is not None:
        problem = check_customer(case.customer)
        assert problem is not None and [problem.message] == case.messages
        assert check_customer({**case.customer, "deleted": False}) is None  # a live customer syncs
    if case.subscription is not None:
        assert [p.message for p in check_subscription(case.subscription)] == case.messages
        good = {**case.subscription, "customer": "cus_1", "items": {"data": [{"id": "si_1", "quantity": 3}]}}
        assert check_subscription(good) == []


def test_intercom_values_refused_per_record_the_rest_synced(intercom_emulator, intercom_token, sqlite_url):
    contacts, companies = synthetic_frames(len(VALUES) + 4, users_per_account=2)
    for row, case in enumerate(VALUES):
        contacts.loc[row, case.column] = case.value
    store = make_store(sqlite_url)

    result, _ = push(intercom_emulator, intercom_token, store, contacts, companies)

    refused = {contacts.loc[row, "external_id"]: case for row, case in enumerate(VALUES)}
    errors = {e.record_key: (e.field, e.code, e.message) for e in result.contacts.errors}
    assert errors == {key: (c.field, c.code, c.message) for key, c in refused.items()}
    pushed = intercom_emulator.app.contacts_by_external_id()
    assert set(pushed) == set(contacts["external_id"]) - set(refused)  # the rest synced, nothing cut
    assert {e["record_key"] for e in store.errors_for_run("run")} == set(refused)  # each one is reported


@pytest.mark.parametrize("case", ANSWERS, ids=_ids(ANSWERS))
def test_intercom_per_record_answers(case, make_intercom_emulator, intercom_token, sqlite_url):
    server = make_intercom_emulator()
    server.app.add_faults(
        FaultRule(kind=case.kind, status=case.status, times=1, method="POST", path_regex="^/contacts$")
    )
    contacts, companies = synthetic_frames(6, users_per_account=2)
    store = make_store(sqlite_url)

    result, _ = push(server, intercom_token, store, contacts, companies)

    [error] = result.contacts.errors
    assert (error.status, error.code, error.message) == (case.status, case.code, case.message)
    pushed = server.app.contacts_by_external_id()
    assert set(pushed) == set(contacts["external_id"]) - {error.record_key}
    assert [e["message"] for e in store.errors_for_run("run")] == [case.message]
    again, _ = push(server, intercom_token, store, contacts, companies)  # the next run completes it
    assert again.contacts.errors == [] and len(server.app.contacts_by_external_id()) == len(contacts)


@pytest.mark.parametrize("case", FAULTS, ids=_ids(FAULTS))
def test_process_faults_are_retried_nothing_lost_nothing_doubled(
    case, make_intercom_emulator, intercom_token, sqlite_url
):
    server = make_intercom_emulator()
    server.app.add_faults(*(FaultRule(**rule) for rule in case.rules))
    contacts, companies = synthetic_frames(6, users_per_account=2)

    result, _ = push(server, intercom_token, make_store(sqlite_url), contacts, companies)

    assert result.contacts.errors == [] and result.companies.errors == []
    assert server.app.stats()["contacts"] == len(contacts)  # no duplicate from a retried create
    assert set(server.app.contacts_by_external_id()) == set(contacts["external_id"])
    assert set(server.app.companies_by_company_id()) == set(companies["company_id"])


def test_the_corpus_has_at_least_forty_cases():
    assert len(CONFIG) + len(ROWS) + len(STRIPE) + len(VALUES) + len(ANSWERS) + len(FAULTS) >= 40
