"""Every request the push sends, and every response it reads, checked against Intercom's OpenAPI 2.16."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from tests.assets.push.test_service import make_store, push
from tests.fixtures.openapi import validate_exchanges
from tests.fixtures.synthetic import synthetic_frames


def test_push_traffic_matches_the_openapi_spec(
    intercom_emulator, intercom_token, intercom_http, tmp_path, intercom_openapi
):
    contacts, companies = synthetic_frames(12, users_per_account=4)
    store = make_store(f"sqlite:///{tmp_path}/s.db")
    intercom_http.post("/contacts", json={"role": "user", "external_id": "user-000001"})  # live: 409
    archived = intercom_http.post("/contacts", json={"role": "user", "external_id": "user-000002"}).json()
    intercom_http.post(f"/contacts/{archived['id']}/archive")  # archived: 409, unarchive
    intercom_http.post("/contacts", json={"role": "lead", "email": "user3@example.com"})  # adopted lead
    intercom_emulator.app.exchanges = []

    push(intercom_emulator, intercom_token, store, contacts, companies)
    contacts.loc[4, "plan"] = None  # a clear
    contacts.loc[5, "company_id"] = "acct-00000"  # detach + attach
    contacts.loc[6, "mrr"] = 1.5  # an update
    new_user = contacts.iloc[[7]].assign(external_id="user-new", email="new@example.com")
    contacts = pd.concat([contacts, new_user], ignore_index=True)
    store.mark_pending_contacts(["user-new"])  # a create a crashed run never confirmed: looked up first
    push(intercom_emulator, intercom_token, store, contacts, companies)

    exchanges = intercom_emulator.app.exchanges
    routes = Counter(f"{x['request'].method} {x['response'].status}" for x in exchanges)
    report = validate_exchanges(exchanges, intercom_openapi)
    assert report.problems == []
    assert report.checked == len(exchanges) > 60
    assert routes["POST 409"] == 2 and routes["GET 404"] == 1  # the recoveries and the lookup were exercised
    paths = {(x["request"].method, x["request"].path.split("/")[1]) for x in exchanges}
    assert {("POST", "data_attributes"), ("POST", "companies"), ("PUT", "contacts"), ("DELETE", "contacts")} <= paths
