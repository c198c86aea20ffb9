"""Companies: upsert on `company_id`, typed fields, and which contacts are attached to which companies."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ApiError, invalid, not_found
from .ids import IdFactory, plan_id
from .values import ValueTypeError, coerce_value

MAX_MONTHLY_SPEND = 2**31 - 1
MAX_COMPANIES_PER_CONTACT = 1000
FIELDS = {
    "name": "string",
    "plan": "string",
    "size": "integer",
    "website": "string",
    "industry": "string",
    "remote_created_at": "date",
}


@dataclass
class Company:
    id: str
    company_id: str
    created_at: int
    updated_at: int
    name: str | None = None
    plan: str | None = None
    size: int | None = None
    website: str | None = None
    industry: str | None = None
    remote_created_at: int | None = None
    monthly_spend: int = 0
    custom_attributes: dict[str, Any] = field(default_factory=dict)


def company_not_found() -> ApiError:
    return not_found("Company Not Found", code="company_not_found")


def parse_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, data_type in FIELDS.items():
        if name in body:
            try:
                fields[name] = coerce_value(body[name], data_type)
            except ValueTypeError as exc:
                raise invalid(f"{name} has an invalid value: {exc}") from exc
    if "monthly_spend" in body:
        fields["monthly_spend"] = _monthly_spend(body["monthly_spend"])
    return fields


def _monthly_spend(value: Any) -> int:
    """Intercom truncates floats ("155.98 will be truncated to 155") and caps at 2**31-1."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid("monthly_spend must be a number")
    spend = int(value)
    if spend > MAX_MONTHLY_SPEND:
        raise invalid(f"monthly_spend must be less than or equal to {MAX_MONTHLY_SPEND}")
    return spend


class CompanyStore:
    def __init__(self, ids: IdFactory) -> None:
        self.ids = ids
        self.companies: dict[str, Company] = {}
        self.by_company_id: dict[str, str] = {}
        # Both directions of the contact <-> company relation, insertion-ordered (dict as ordered set).
        self.companies_of: dict[str, dict[str, None]] = {}
        self.contacts_of: dict[str, dict[str, None]] = {}

    def get(self, company_id: str) -> Company:
        company = self.companies.get(company_id)
        if company is None:
            raise company_not_found()
        return company

    def find(self, external_company_id: str) -> Company:
        intercom_id = self.by_company_id.get(external_company_id)
        if intercom_id is None:
            raise company_not_found()
        return self.companies[intercom_id]

    def upsert(self, company_id: str, fields: dict[str, Any], custom: dict[str, Any], now: int) -> Company:
        intercom_id = self.by_company_id.get(company_id)
        if intercom_id is None:
            company = Company(id=self.ids.next(), company_id=company_id, created_at=now, updated_at=now)
            self.companies[company.id] = company
            self.by_company_id[company_id] = company.id
        else:
            company = self.companies[intercom_id]
        self.update(company, fields, custom, now)
        return company

    @staticmethod
    def update(company: Company, fields: dict[str, Any], custom: dict[str, Any], now: int) -> None:
        for name, value in fields.items():
            setattr(company, name, value)
        for name, value in custom.items():
            if value is None:
                company.custom_attributes.pop(name, None)
            else:
                company.custom_attributes[name] = value
        company.updated_at = now

    def is_listed(self, company: Company) -> bool:
        """Intercom hides companies until a contact is attached."""
        return bool(self.contacts_of.get(company.id))

    def listed(self) -> list[Company]:
        return [c for c in self.companies.values() if self.is_listed(c)]

    # -- attachments --------------------------------------------------------------------------
    def attach(self, contact_id: str, company: Company) -> None:
        attached = self.companies_of.setdefault(contact_id, {})
        if company.id in attached:
            return  # attaching twice is harmless
        if len(attached) >= MAX_COMPANIES_PER_CONTACT:
            raise company_limit_exceeded()
        attached[company.id] = None
        self.contacts_of.setdefault(company.id, {})[contact_id] = None

    def detach(self, contact_id: str, company: Company) -> None:
        attached = self.companies_of.get(contact_id, {})
        if company.id not in attached:
            raise company_not_found()
        del attached[company.id]
        del self.contacts_of[company.id][contact_id]

    def move_attachments(self, from_contact: str, to_contact: str) -> None:
        """A merged lead's companies become the user's."""
        for company_id in list(self.companies_of.get(from_contact, {})):
            company = self.companies[company_id]
            self.detach(from_contact, company)
            if len(self.companies_of.get(to_contact, {})) < MAX_COMPANIES_PER_CONTACT:
                self.attach(to_contact, company)

    def company_ids_of(self, contact_id: str) -> list[str]:
        return list(self.companies_of.get(contact_id, {}))

    def user_count(self, company: Company) -> int:
        return len(self.contacts_of.get(company.id, {}))

    # -- persistence --------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "companies": [asdict(c) for c in self.companies.values()],
            "attachments": {contact: list(companies) for contact, companies in self.companies_of.items() if companies},
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.companies.clear()
        self.by_company_id.clear()
        self.companies_of.clear()
        self.contacts_of.clear()
        for row in state.get("companies", []):
            company = Company(**row)
            self.companies[company.id] = company
            self.by_company_id[company.company_id] = company.id
        for contact_id, company_ids in state.get("attachments", {}).items():
            for company_id in company_ids:
                self.attach(contact_id, self.companies[company_id])


def company_limit_exceeded() -> ApiError:
    return ApiError(
        400,
        "contact_company_limit_exceeded",
        f"A contact can be attached to at most {MAX_COMPANIES_PER_CONTACT} companies",
    )


def company_to_api(company: Company, user_count: int, app_id: str) -> dict[str, Any]:
    """The 2.16 `company` object; `plan` comes back as an object, unset strings are left out."""
    body: dict[str, Any] = {
        "type": "company",
        "id": company.id,
        "app_id": app_id,
        "company_id": company.company_id,
        "created_at": company.created_at,
        "updated_at": company.updated_at,
        "last_request_at": company.updated_at,
        "monthly_spend": company.monthly_spend,
        "session_count": 0,
        "user_count": user_count,
        "plan": {"type": "plan", "id": plan_id(company.plan), "name": company.plan} if company.plan else {},
        "custom_attributes": dict(company.custom_attributes),
        "tags": {"type": "tag.list", "tags": []},
        "segments": {"type": "segment.list", "segments": []},
    }
    for name in ("name", "size", "website", "industry", "remote_created_at"):
        value = getattr(company, name)
        if value is not None:
            body[name] = value
    return body
