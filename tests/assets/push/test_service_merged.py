"""Intercom 2.16 answers a merged contact with 410 Gone and a `Link` to the survivor: the push follows it."""

from __future__ import annotations

import httpx

from resources.state.store import ContactState
from tests.assets.push.test_service import make_store, push, writes
from tests.fixtures.intercom_emulator import intercom_headers
from tests.fixtures.synthetic import synthetic_frames


def test_a_stored_contact_merged_away_is_followed_to_the_survivor(intercom_emulator, intercom_token, sqlite_url):
    contacts, companies = synthetic_frames(4, users_per_account=2)
    store = make_store(sqlite_url)
    first = contacts.loc[0]
    email = str(first["email"])
    with httpx.Client(base_url=intercom_emulator.url, headers=intercom_headers(intercom_token)) as api:
        lead = api.post("/contacts", json={"role": "lead", "email": email}).json()
        survivor = api.post("/contacts", json={"role": "user", "email": email.upper()}).json()
        # The state says our user is the lead (adopted by an earlier run), which Intercom then merged away.
        store.save_contacts([ContactState(first["external_id"], lead["id"], email, None, {})])
        assert api.post("/contacts/merge", json={"from": lead["id"], "into": survivor["id"]}).status_code == 200
        assert api.get(f"/contacts/{lead['id']}").status_code == 410
    intercom_emulator.app.exchanges = []

    result, _ = push(intercom_emulator, intercom_token, store, contacts, companies)

    assert result.contacts.errors == []
    assert store.load_contacts().loc[first["external_id"], "intercom_id"] == survivor["id"]  # state follows
    merged = intercom_emulator.app.contacts_by_external_id()[first["external_id"]]
    assert merged["id"] == survivor["id"] and merged["custom_attributes"]["mrr"] == contacts.loc[0, "mrr"]
    creates = [x["request"].json() for x in writes(intercom_emulator.app) if x["request"].path == "/contacts"]
    assert len(creates) == len(contacts) - 1  # the others; no create was tried for the merged one
    assert first["external_id"] not in {c.get("external_id") for c in creates}
