"""The batched identity lookup: what a search answer means for the records about to be created."""

from __future__ import annotations

from assets.push.lookup import KnownContacts, email_key, lookup_identities
from assets.push.plan import RecordPlan


def record(key: str, action: str, email: str | None) -> RecordPlan:
    return RecordPlan(key, action, None, {}, {"email": email})  # type: ignore[arg-type]


def test_lookup_identities_searches_every_new_email_once_and_only_pending_external_ids():
    records = [
        record("u1", "create", " A@X.com"),
        record("u2", "create", "a@x.com"),  # the same email, another case: searched once
        record("u3", "resolve", "c@x.com"),
        record("u4", "create", None),
        record("u5", "resolve", ""),
    ]
    assert lookup_identities(records) == (["a@x.com", "c@x.com"], ["u3", "u5"])


def test_oldest_lead_or_email_only_user_per_email_is_adoptable_and_handed_out_once():
    found = [
        {"id": "new-lead", "role": "lead", "email": "a@x.com", "external_id": None, "created_at": 20},
        {"id": "old-lead", "role": "lead", "email": "A@x.com ", "external_id": None, "created_at": 10},
        {"id": "email-only", "role": "user", "email": "b@x.com", "external_id": None, "created_at": 5},
        {"id": "ours", "role": "user", "email": "c@x.com", "external_id": "u3", "created_at": 1},
        {"id": "theirs", "role": "user", "email": "d@x.com", "external_id": "someone-else", "created_at": 1},
    ]
    known = KnownContacts.from_search(found)
    assert known.pop_adoptable("a@X.COM")["id"] == "old-lead"
    assert known.pop_adoptable("a@x.com") is None  # one record adopts it; a second one is created
    assert known.pop_adoptable("b@x.com")["id"] == "email-only"
    assert known.pop_adoptable("d@x.com") is None  # a user with another external id is never adopted
    assert known.pop_adoptable(None) is None
    assert known.pop_same("u3")["id"] == "ours"
    assert known.pop_same("u3") is None
    assert known.pop_same("u9") is None


def test_a_contact_found_twice_by_overlapping_filters_counts_once():
    lead = {"id": "l1", "role": "lead", "email": "a@x.com", "external_id": None, "created_at": 1}
    known = KnownContacts.from_search([lead, dict(lead)])
    assert known.pop_adoptable("a@x.com") == lead
    assert known.adoptable == {}


def test_email_key():
    assert email_key("  Ab@X.Com ") == "ab@x.com"
    assert email_key(None) == ""


def test_a_contact_is_claimed_once_and_its_email_is_taken():
    known = KnownContacts.from_search([{"id": "c1", "email": "A@x.io"}, {"id": "c2", "email": "b@x.io"}])
    assert known.claim("c2", "b@x.io")  # adopted through a 409 by one record...
    assert not known.claim("c2", "B@x.io")  # ...so a second record racing for it loses
    assert known.pop_adoptable("b@x.io") is None  # and the search's lead for that email is not handed out
    assert known.pop_adoptable("a@x.io")["id"] == "c1" and not known.claim("c1", None)
