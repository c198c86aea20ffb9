"""Contacts: users and leads, their identity rules (409s), archive and merge, and the 2.16 shape."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ApiError, invalid, not_found
from .ids import IdFactory
from .values import ValueTypeError, coerce_value

ROLES = ("user", "lead")
# Writable standard fields and their data types (2.16: owner_id is a string).
FIELDS = {
    "role": "string",
    "external_id": "string",
    "email": "string",
    "phone": "string",
    "name": "string",
    "avatar": "string",
    "owner_id": "string",
    "signed_up_at": "date",
    "last_seen_at": "date",
    "unsubscribed_from_emails": "boolean",
    "email_verified": "boolean",
}


@dataclass
class Contact:
    id: str
    role: str
    created_at: int
    updated_at: int
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    avatar: str | None = None
    owner_id: str | None = None
    signed_up_at: int | None = None
    last_seen_at: int | None = None
    unsubscribed_from_emails: bool = False
    email_verified: bool | None = None
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    archived: bool = False
    merged_into: str | None = None

    @property
    def visible(self) -> bool:
        """Listed and searchable: neither archived nor merged away."""
        return not self.archived and self.merged_into is None


def parse_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The standard fields of a create/update body, type-checked; unknown keys are ignored like Intercom does."""
    fields: dict[str, Any] = {}
    for name, data_type in FIELDS.items():
        if name not in body:
            continue
        try:
            fields[name] = coerce_value(body[name], data_type)
        except ValueTypeError as exc:
            raise invalid(f"{name} has an invalid value: {exc}") from exc
    if "role" in fields and fields["role"] not in ROLES:
        raise invalid("role must be one of user or lead")
    if fields.get("email_verified") is not None and "email" not in fields:
        raise invalid("email_verified can only be set together with email")
    return fields


def _email_key(email: str | None) -> str | None:
    return email.strip().lower() if email else None


class ContactStore:
    def __init__(self, ids: IdFactory) -> None:
        self.ids = ids
        self.contacts: dict[str, Contact] = {}  # creation order, merged ones included
        self._order: list[str] = []
        self.by_external_id: dict[str, str] = {}
        self._by_email: dict[str, set[str]] = {}  # lower-cased email -> ids of unmerged contacts
        self.visible_count = 0

    # -- lookups ------------------------------------------------------------------------------
    def get(self, contact_id: str) -> Contact:
        """The contact behind an id: 404 unknown, 410 merged (with the canonical link)."""
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise not_found()
        if contact.merged_into is not None:
            raise ApiError(
                410,
                "contact_merged",
                f"Contact {contact_id} was merged into {contact.merged_into}",
                {"Link": f'</contacts/{contact.merged_into}>; rel="canonical"'},
            )
        return contact

    def get_live(self, contact_id: str) -> Contact:
        """A contact that may be written to: archived ones must be unarchived first."""
        contact = self.get(contact_id)
        if contact.archived:
            raise not_found()
        return contact

    def find_user(self, external_id: str) -> Contact | None:
        contact_id = self.by_external_id.get(external_id)
        contact = self.contacts.get(contact_id) if contact_id else None
        return contact if contact is not None and contact.role == "user" and not contact.archived else None

    def users_with_email(self, email: str) -> list[Contact]:
        ids = self._by_email.get(_email_key(email) or "", set())
        found = [self.contacts[i] for i in ids]
        return [c for c in found if c.role == "user" and not c.archived]

    def conflict(self, external_id: str | None, email: str | None, exclude: str | None = None) -> Contact | None:
        """The contact a create/update would duplicate: same external_id, or same email as a user without one."""
        if external_id is not None:
            other_id = self.by_external_id.get(external_id)
            if other_id is not None and other_id != exclude:
                return self.contacts[other_id]
        key = _email_key(email)
        for other_id in self._by_email.get(key, set()) if key else ():
            other = self.contacts[other_id]
            if other_id != exclude and other.role == "user" and other.external_id is None:
                return other
        return None

    @staticmethod
    def conflict_error(contact: Contact) -> ApiError:
        prefix = "An archived contact" if contact.archived else "A contact"
        return ApiError(409, "conflict", f"{prefix} matching those details already exists with id={contact.id}")

    # -- writes -------------------------------------------------------------------------------
    def create(self, fields: dict[str, Any], custom: dict[str, Any], now: int) -> Contact:
        if not any(fields.get(k) is not None for k in ("email", "external_id", "role")):
            raise invalid("Specify at least one of email, external_id or role")
        fields.setdefault("role", "user")
        if fields["role"] is None:
            fields["role"] = "user"
        if fields["role"] == "user" and not fields.get("email") and not fields.get("external_id"):
            raise invalid("A user needs an external_id or an email")
        duplicate = self.conflict(fields.get("external_id"), fields.get("email"))
        if duplicate is not None:
            raise self.conflict_error(duplicate)
        contact = Contact(id=self.ids.next(), created_at=now, updated_at=now, **fields)
        contact.custom_attributes = {k: v for k, v in custom.items() if v is not None}
        self._add(contact)
        return contact

    def update(self, contact: Contact, fields: dict[str, Any], custom: dict[str, Any], now: int) -> None:
        if fields.get("role") == "lead" and contact.role == "user":
            raise invalid("Contact with user role can't be converted to a lead")
        if fields.get("role") is None:
            fields.pop("role", None)
        external_id = fields.get("external_id", contact.external_id)
        email = fields.get("email", contact.email)
        changes_identity = "external_id" in fields or "email" in fields
        duplicate = self.conflict(external_id, email, exclude=contact.id) if changes_identity else None
        if duplicate is not None:
            raise self.conflict_error(duplicate)
        self._unindex(contact)
        for name, value in fields.items():
            setattr(contact, name, value)
        for name, value in custom.items():
            if value is None:
                contact.custom_attributes.pop(name, None)
            else:
                contact.custom_attributes[name] = value
        contact.updated_at = now
        self._index(contact)

    def set_archived(self, contact: Contact, archived: bool, now: int) -> None:
        if contact.archived != archived:
            self.visible_count += -1 if archived else 1
        contact.archived = archived
        contact.updated_at = now

    def merge(self, lead: Contact, user: Contact, now: int) -> None:
        """The lead disappears into the user; the user's own values win."""
        if lead.role != "lead":
            raise invalid("The contact to merge from must be a lead")
        if user.role != "user":
            raise invalid("The contact to merge into must be a user")
        self._unindex(lead)
        if lead.visible:
            self.visible_count -= 1
        lead.merged_into = user.id
        for name, value in lead.custom_attributes.items():
            user.custom_attributes.setdefault(name, value)
        for name in ("email", "phone", "name", "avatar"):
            if getattr(user, name) is None and getattr(lead, name) is not None:
                setattr(user, name, getattr(lead, name))
        self._unindex(user)
        self._index(user)
        user.updated_at = now

    # -- listing ------------------------------------------------------------------------------
    def visible_after(self, position: int) -> Iterator[tuple[int, Contact]]:
        """Visible contacts after a position in creation order (O(page), not O(n), per page)."""
        for index in range(position + 1, len(self._order)):
            contact = self.contacts[self._order[index]]
            if contact.visible:
                yield index, contact

    # -- indexes ------------------------------------------------------------------------------
    def _add(self, contact: Contact) -> None:
        self.contacts[contact.id] = contact
        self._order.append(contact.id)
        if contact.visible:
            self.visible_count += 1
        self._index(contact)

    def _index(self, contact: Contact) -> None:
        if contact.merged_into is not None:
            return
        if contact.external_id is not None:
            self.by_external_id[contact.external_id] = contact.id
        key = _email_key(contact.email)
        if key:
            self._by_email.setdefault(key, set()).add(contact.id)

    def _unindex(self, contact: Contact) -> None:
        if contact.external_id is not None and self.by_external_id.get(contact.external_id) == contact.id:
            del self.by_external_id[contact.external_id]
        key = _email_key(contact.email)
        if key and key in self._by_email:
            self._by_email[key].discard(contact.id)
            if not self._by_email[key]:
                del self._by_email[key]

    # -- persistence --------------------------------------------------------------------------
    def to_state(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.contacts.values()]

    def load_state(self, rows: list[dict[str, Any]]) -> None:
        self.contacts.clear()
        self._order.clear()
        self.by_external_id.clear()
        self._by_email.clear()
        self.visible_count = 0
        for row in rows:
            self._add(Contact(**row))


def contact_to_api(contact: Contact, company_ids: list[str], workspace_id: str) -> dict[str, Any]:
    """The 2.16 `contact` object."""
    email = contact.email or ""
    companies = [{"type": "company", "id": cid, "url": f"/companies/{cid}"} for cid in company_ids[:10]]
    return {
        "type": "contact",
        "id": contact.id,
        "workspace_id": workspace_id,
        "external_id": contact.external_id,
        "role": contact.role,
        "email": email,
        "email_domain": email.rpartition("@")[2] if "@" in email else "",
        "phone": contact.phone,
        "name": contact.name,
        "owner_id": contact.owner_id,
        "has_hard_bounced": False,
        "marked_email_as_spam": False,
        "unsubscribed_from_emails": contact.unsubscribed_from_emails,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "signed_up_at": contact.signed_up_at,
        "last_seen_at": contact.last_seen_at,
        "last_replied_at": None,
        "last_contacted_at": None,
        "last_email_opened_at": None,
        "last_email_clicked_at": None,
        "language_override": None,
        "browser": None,
        "browser_version": None,
        "browser_language": None,
        "os": None,
        "custom_attributes": dict(contact.custom_attributes),
        "avatar": {"type": "avatar", "image_url": contact.avatar} if contact.avatar else None,
        "tags": _addressable_list(f"/contacts/{contact.id}/tags", []),
        "notes": _addressable_list(f"/contacts/{contact.id}/notes", []),
        "companies": {
            "type": "list",
            "data": companies,
            "url": f"/contacts/{contact.id}/companies",
            "total_count": len(company_ids),
            "has_more": len(company_ids) > len(companies),
        },
        "location": {"type": "location", "country": None, "region": None, "city": None},
        "social_profiles": {"type": "list", "data": []},
        "enabled_push_messaging": None,
    }


def _addressable_list(url: str, data: list[Any]) -> dict[str, Any]:
    return {"type": "list", "data": data, "url": url, "total_count": len(data), "has_more": False}
