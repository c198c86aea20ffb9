"""What one batched contact search tells the push about the records it is about to create. Pure.

Before creating contacts, the push searches Intercom once per up to 1,500 identities (emails of
every new record, external ids of records a crashed run may have created) instead of once per
record. The answers sort into the two lookups the identity rules need: our own user, found by
`external_id` (update it, no create and 409), and an adoptable contact per email: the oldest lead
or email-only user with that email (see `identify`). Search lags writes by minutes; whatever it
misses is still caught by the 409 on create, so this saves calls without being trusted for identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assets.push.plan import RecordPlan


def email_key(email: Any) -> str:
    """How emails are compared: stripped, lower-cased ("" when there is none)."""
    return str(email or "").strip().lower()


def lookup_identities(records: Iterable[RecordPlan]) -> tuple[list[str], list[str]]:
    """(emails, external ids) to search for: every new record's email, and the external id of each
    record a previous run tried to create (action `resolve`), sorted and without repeats."""
    records = list(records)
    emails = sorted({email_key(r.desired.get("email")) for r in records} - {""})
    external_ids = sorted({r.key for r in records if r.action == "resolve"})
    return emails, external_ids


@dataclass
class KnownContacts:
    """Contacts a search found. Each is handed out once (`pop_*`), so no two records share one.

    A push searches once per chunk of records, and search lags writes, so a later chunk's search
    may still show as a lead a contact an earlier chunk adopted, by search or by a 409/410
    recovery. `taken` (emails) and `claimed` (contact ids), shared by the chunks of a push, record
    every adoption: no adoptable contact is handed out for a taken email, nor a claimed contact.
    """

    by_external_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    adoptable: dict[str, dict[str, Any]] = field(default_factory=dict)  # email_key -> oldest adoptable
    taken: set[str] = field(default_factory=set)
    claimed: set[str] = field(default_factory=set)

    @classmethod
    def from_search(
        cls, found: Iterable[dict[str, Any]], taken: set[str] | None = None, claimed: set[str] | None = None
    ) -> KnownContacts:
        known = cls(taken=set() if taken is None else taken, claimed=set() if claimed is None else claimed)
        for contact in sorted(found, key=lambda c: (c.get("created_at") or 0, str(c.get("id")))):
            external_id = contact.get("external_id")
            if external_id:
                known.by_external_id.setdefault(str(external_id), contact)
            elif email_key(contact.get("email")):
                known.adoptable.setdefault(email_key(contact.get("email")), contact)
        return known

    def pop_same(self, external_id: str) -> dict[str, Any] | None:
        """Our own user, already in Intercom under this external id."""
        return self.by_external_id.pop(external_id, None)

    def pop_adoptable(self, email: Any) -> dict[str, Any] | None:
        """The oldest lead or email-only user with this email, if no record took it (or the email) yet."""
        key = email_key(email)
        if not key or key in self.taken:
            return None
        contact = self.adoptable.pop(key, None)
        if contact is None or not self.claim(str(contact["id"]), email):
            return None
        return contact

    def claim(self, contact_id: str, email: Any) -> bool:
        """Before a record adopts `contact_id` (found by search, or named by a 409 or 410): False when
        another record of this push already did. Check and claim happen without an await between
        them, so of two records racing for one contact exactly one wins."""
        if contact_id in self.claimed:
            return False
        self.claimed.add(contact_id)
        if email_key(email):
            self.taken.add(email_key(email))
        return True
