"""Data attributes: the standard ones of each model, custom ones, and checks on written values."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ApiError, invalid, not_found
from .values import ValueTypeError, coerce_value

MODELS = ("contact", "company")
MAX_CUSTOM_ATTRIBUTES = 250
# `datetime` is accepted on create and stored as `date` (the response enum has no `datetime`).
CREATABLE_TYPES = {"string": "string", "integer": "integer", "float": "float", "boolean": "boolean",
                   "date": "date", "datetime": "date", "options": "string"}  # fmt: skip
PEOPLE = {"contact": "people", "company": "company"}

# (name, label, data_type, api_writable) — the subset of Intercom's standard attributes revsync can meet.
STANDARD: dict[str, list[tuple[str, str, str, bool]]] = {
    "contact": [
        ("name", "Name", "string", True),
        ("email", "Email", "string", True),
        ("phone", "Phone", "string", True),
        ("external_id", "User ID", "string", True),
        ("role", "Role", "string", True),
        ("avatar", "Avatar", "string", True),
        ("owner_id", "Owner", "string", True),
        ("signed_up_at", "Signed up", "date", True),
        ("last_seen_at", "Last seen", "date", True),
        ("unsubscribed_from_emails", "Unsubscribed from Emails", "boolean", True),
        ("email_domain", "Email Domain", "string", False),
        ("created_at", "Created at", "date", False),
        ("updated_at", "Updated at", "date", False),
    ],
    "company": [
        ("name", "Company name", "string", True),
        ("company_id", "Company ID", "string", True),
        ("plan", "Plan", "string", True),
        ("size", "Company size", "integer", True),
        ("website", "Website", "string", True),
        ("industry", "Industry", "string", True),
        ("monthly_spend", "Monthly Spend", "integer", True),
        ("remote_created_at", "Company created at", "date", True),
        ("user_count", "People", "integer", False),
        ("session_count", "Company web sessions", "integer", False),
        ("created_at", "Created at", "date", False),
        ("last_request_at", "Company last seen", "date", False),
    ],
}


@dataclass
class CustomAttribute:
    id: int
    name: str
    model: str
    data_type: str
    created_at: int
    updated_at: int
    description: str = ""
    options: list[str] = field(default_factory=list)
    messenger_writable: bool = False
    archived: bool = False

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "data_attribute",
            "id": self.id,
            "model": self.model,
            "name": self.name,
            "full_name": f"custom_attributes.{self.name}",
            "label": self.name,
            "description": self.description,
            "data_type": self.data_type,
            "api_writable": True,
            "ui_writable": True,
            "messenger_writable": self.messenger_writable,
            "custom": True,
            "archived": self.archived,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "admin_id": "1",
        }
        if self.options:
            body["options"] = list(self.options)
        return body


def standard_to_api(model: str, name: str, label: str, data_type: str, writable: bool) -> dict[str, Any]:
    return {
        "type": "data_attribute",
        "model": model,
        "name": name,
        "full_name": name,
        "label": label,
        "description": label,
        "data_type": data_type,
        "api_writable": writable,
        "ui_writable": writable,
        "messenger_writable": False,
        "custom": False,
        "archived": False,
    }


def _valid_name(name: str) -> bool:
    # Intercom: alphanumerics, currency symbols and hyphens; `_` and spaces pass in practice, `.` and `$` never.
    return bool(name) and all(
        ch.isalnum() or ch in "_- " or (unicodedata.category(ch) == "Sc" and ch != "$") for ch in name
    )


class AttributeRegistry:
    def __init__(self) -> None:
        self.by_name: dict[str, CustomAttribute] = {}  # names are unique across both models
        self.by_id: dict[int, CustomAttribute] = {}
        self._next_id = 1

    def list(self, model: str, include_archived: bool) -> list[dict[str, Any]]:
        standard = [standard_to_api(model, *row) for row in STANDARD[model]]
        custom = [a for a in self.by_name.values() if a.model == model and (include_archived or not a.archived)]
        return standard + [a.to_api() for a in custom]

    def _active_count(self) -> int:
        return sum(1 for a in self.by_name.values() if not a.archived)

    def create(self, body: dict[str, Any], now: int) -> CustomAttribute:
        name, model, data_type = body.get("name"), body.get("model"), body.get("data_type")
        if model not in MODELS:
            raise invalid("Model must be one of contact or company")
        if not isinstance(name, str) or not _valid_name(name):
            raise invalid(
                "Your name for this attribute must only contain alphanumeric characters, currency symbols, and hyphens"
            )
        for std_name, label, _, _ in STANDARD[model]:
            if std_name == name.lower():
                raise invalid(f"'{label}' is one of our standard attributes")
        existing = self.by_name.get(name)
        if existing is not None:
            other = "people" if model == "contact" else "company"
            raise invalid(
                f"You already have '{name}' in your {PEOPLE[existing.model]} data. "
                f"To save this as new {other} data, use a different name."
            )
        if data_type not in CREATABLE_TYPES:
            raise invalid("Data Type isn't an option")
        options = self._options(body) if data_type == "options" else []
        if self._active_count() >= MAX_CUSTOM_ATTRIBUTES:
            raise invalid(f"You have reached the limit of {MAX_CUSTOM_ATTRIBUTES} custom attributes")
        attribute = CustomAttribute(
            id=self._next_id,
            name=name,
            model=model,
            data_type=CREATABLE_TYPES[data_type],
            created_at=now,
            updated_at=now,
            description=str(body.get("description") or ""),
            options=options,
            messenger_writable=bool(body.get("messenger_writable", False)),
        )
        self._next_id += 1
        self._add(attribute)
        return attribute

    @staticmethod
    def _options(body: dict[str, Any]) -> list[str]:
        options = body.get("options")
        if not isinstance(options, list) or len(options) < 2:
            raise invalid("Options must contain at least two options")
        if not all(isinstance(o, dict) and isinstance(o.get("value"), str) for o in options):
            raise invalid("Each option must be an object with a string value")
        return [o["value"] for o in options]

    def update(self, attribute_id: int, body: dict[str, Any], now: int) -> CustomAttribute:
        attribute = self.by_id.get(attribute_id)
        if attribute is None:
            raise not_found("Attribute Not Found", code="field_not_found")
        data_type = body.get("data_type")
        if data_type is not None and CREATABLE_TYPES.get(data_type, data_type) != attribute.data_type:
            raise invalid("Updating the data type is not possible via the API. Change it in the UI instead.")
        for immutable in ("name", "model"):
            if immutable in body and body[immutable] != getattr(attribute, immutable):
                raise invalid(f"The {immutable} of an attribute can't be changed")
        if "archived" in body:
            archived = bool(body["archived"])
            if attribute.archived and not archived and self._active_count() >= MAX_CUSTOM_ATTRIBUTES:
                raise invalid(f"You have reached the limit of {MAX_CUSTOM_ATTRIBUTES} custom attributes")
            attribute.archived = archived
        if "description" in body:
            attribute.description = str(body["description"] or "")
        if "options" in body:
            attribute.options = self._options(body)
        if "messenger_writable" in body:
            attribute.messenger_writable = bool(body["messenger_writable"])
        attribute.updated_at = now
        return attribute

    def data_type_of(self, model: str, name: str) -> str | None:
        attribute = self.by_name.get(name)
        if attribute is None or attribute.model != model or attribute.archived:
            return None
        return attribute.data_type

    def check_values(self, model: str, values: Any) -> dict[str, Any]:
        """Typed values for a `custom_attributes` object; 400 naming the attribute on any problem."""
        if not isinstance(values, dict):
            raise invalid("custom_attributes must be an object")
        typed: dict[str, Any] = {}
        for name, value in values.items():
            data_type = self.data_type_of(model, name)
            if data_type is None:
                raise ApiError(400, "parameter_invalid", f"Custom attribute '{name}' does not exist")
            try:
                typed[name] = coerce_value(value, data_type)
            except ValueTypeError as exc:
                raise invalid(f"Custom attribute '{name}' must be of type {data_type} ({exc})") from exc
        return typed

    def _add(self, attribute: CustomAttribute) -> None:
        self.by_name[attribute.name] = attribute
        self.by_id[attribute.id] = attribute

    def to_state(self) -> dict[str, Any]:
        return {"next_id": self._next_id, "custom": [asdict(a) for a in self.by_name.values()]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.by_name.clear()
        self.by_id.clear()
        for raw in state.get("custom", []):
            self._add(CustomAttribute(**raw))
        self._next_id = int(state.get("next_id", len(self.by_id) + 1))
