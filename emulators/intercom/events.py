"""Data events: identification, de-duplication, the metadata and event-name limits."""

from __future__ import annotations

from typing import Any

from .errors import ApiError, invalid

MAX_METADATA_KEYS = 10
MAX_EVENT_NAMES = 120


def normalise_name(name: str) -> str:
    # Event names are case-insensitive; `.` and `$` become hyphens.
    return name.lower().replace(".", "-").replace("$", "-")


def _metadata_value_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str | int | float):
        return True
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            return isinstance(value["amount"], int) and isinstance(value["currency"], str)
        if set(value) == {"url", "value"}:
            return isinstance(value["url"], str) and isinstance(value["value"], str)
    return False


def parse_metadata(raw: Any) -> dict[str, Any]:
    """The first 10 keys in send order (the rest are dropped silently, as Intercom does)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid("metadata must be an object")
    kept = dict(list(raw.items())[:MAX_METADATA_KEYS])
    for key, value in kept.items():
        if not _metadata_value_ok(value):
            allowed = "a string, a number, {amount, currency} or {url, value}"
            raise invalid(f"metadata value for '{key}' must be {allowed}")
    return kept


class EventStore:
    def __init__(self) -> None:
        self.by_contact: dict[str, list[dict[str, Any]]] = {}
        self._keys: set[tuple[str, str, int]] = set()
        self.names: dict[str, str] = {}  # normalised -> first spelling seen

    def record(self, contact_id: str, event_name: str, created_at: int, metadata: dict[str, Any]) -> bool:
        """Store the event; False for a duplicate (still a 202 for the caller)."""
        name = normalise_name(event_name)
        key = (contact_id, name, created_at)
        if key in self._keys:
            return False
        if name not in self.names and len(self.names) >= MAX_EVENT_NAMES:
            raise ApiError(
                400,
                "parameter_invalid",
                f"You can track up to {MAX_EVENT_NAMES} active events; '{event_name}' would be a new one",
            )
        self.names.setdefault(name, event_name)
        self._keys.add(key)
        event = {"event_name": name, "created_at": created_at, "metadata": metadata}
        self.by_contact.setdefault(contact_id, []).append(event)
        return True

    def move(self, from_contact: str, to_contact: str) -> None:
        """A merged lead's events belong to the user afterwards."""
        for event in self.by_contact.pop(from_contact, []):
            self._keys.discard((from_contact, event["event_name"], event["created_at"]))
            self.record(to_contact, event["event_name"], event["created_at"], event["metadata"])

    def to_state(self) -> dict[str, Any]:
        return {"by_contact": self.by_contact, "names": self.names}

    def load_state(self, state: dict[str, Any]) -> None:
        self.by_contact = {k: list(v) for k, v in state.get("by_contact", {}).items()}
        self.names = dict(state.get("names", {}))
        self._keys = {(c, e["event_name"], e["created_at"]) for c, events in self.by_contact.items() for e in events}
