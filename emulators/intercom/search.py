"""Contact search: filters and groups over contact documents, and the indexing lag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from .errors import ApiError, invalid

MAX_GROUP_FILTERS = 15
MAX_NESTING = 2
STANDARD_FIELDS = {
    "id", "role", "email", "email_domain", "phone", "external_id", "name",
    "created_at", "updated_at", "signed_up_at", "last_seen_at",
}  # fmt: skip
DATE_FIELDS = {"created_at", "updated_at", "signed_up_at", "last_seen_at"}
DATE_OPERATORS = {"=", "<", ">"}
OPERATORS = {"=", "!=", "IN", "NIN", "~", "!~", "^", "$", "<", ">", "<=", ">="}
DAY = 86_400
CUSTOM_PREFIX = "custom_attributes."

Document = dict[str, Any]


class SearchIndex:
    """What search sees: each contact's newest version that is at least `lag_seconds` old.

    Intercom indexes asynchronously, so a new contact is invisible and an updated one shows its old
    values for a while. Versions older than the visible one are dropped as time passes.
    """

    def __init__(self, lag_seconds: float) -> None:
        self.lag_seconds = lag_seconds
        self._versions: dict[str, list[tuple[float, Document | None]]] = {}

    def record(self, contact_id: str, now: float, document: Document | None) -> None:
        """`document` None means the contact left the index (archived, merged)."""
        versions = self._versions.setdefault(contact_id, [])
        versions.append((now, document))
        self._compact(versions, now)

    def documents(self, now: float) -> list[Document]:
        visible: list[Document] = []
        for versions in self._versions.values():
            self._compact(versions, now)
            stamp, document = versions[0]
            if stamp <= now - self.lag_seconds and document is not None:
                visible.append(document)
        return visible

    def _compact(self, versions: list[tuple[float, Document | None]], now: float) -> None:
        cutoff = now - self.lag_seconds
        while len(versions) > 1 and versions[1][0] <= cutoff:
            versions.pop(0)

    def clear(self) -> None:
        self._versions.clear()


def compile_query(query: Any, date_attribute: Callable[[str], bool], depth: int = 1) -> Callable[[Document], bool]:
    """A predicate for a `single_filter_search_request` or `multiple_filter_search_request`."""
    if not isinstance(query, dict):
        raise invalid("query must be an object")
    operator = query.get("operator")
    if operator in ("AND", "OR"):
        if depth > MAX_NESTING:
            raise invalid(f"Search queries support at most {MAX_NESTING} levels of nesting")
        parts = query.get("value")
        if not isinstance(parts, list) or not parts:
            raise invalid("A group needs a non-empty list of filters")
        if len(parts) > MAX_GROUP_FILTERS:
            raise invalid(f"A group supports at most {MAX_GROUP_FILTERS} filters")
        compiled = [compile_query(p, date_attribute, depth + 1) for p in parts]
        combine = all if operator == "AND" else any
        return lambda doc: combine(predicate(doc) for predicate in compiled)
    return _compile_filter(query, date_attribute)


def _compile_filter(query: dict[str, Any], date_attribute: Callable[[str], bool]) -> Callable[[Document], bool]:
    field, operator, value = query.get("field"), query.get("operator"), query.get("value")
    if not isinstance(field, str) or not (field in STANDARD_FIELDS or field.startswith(CUSTOM_PREFIX)):
        raise invalid(f"{field} is not a searchable field")
    if operator not in OPERATORS:
        raise invalid(f"{operator} is not a valid operator")
    custom = field.startswith(CUSTOM_PREFIX)
    is_date = field in DATE_FIELDS or (custom and date_attribute(field.removeprefix(CUSTOM_PREFIX)))
    if is_date and operator not in DATE_OPERATORS:
        raise invalid(f"Operator {operator} is not supported for date field {field}")
    if operator in ("IN", "NIN") and not isinstance(value, list):
        raise invalid(f"Operator {operator} needs a list value")

    if is_date:
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid(f"Date filters on {field} need a Unix timestamp value")
        return lambda doc: _date_matches(field_value(doc, field), operator, value)
    expected = _folded(value)  # once per query, not once per contact scanned
    return lambda doc: _matches(field_value(doc, field), operator, expected)


def field_value(doc: Document, field: str) -> Any:
    if field.startswith(CUSTOM_PREFIX):
        return doc.get("custom_attributes", {}).get(field.removeprefix(CUSTOM_PREFIX))
    return doc.get(field)


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _folded(value: Any) -> Any:
    """A filter's value as `_matches` compares it: folded; an `IN`/`NIN` list as a set when it can be one."""
    if not isinstance(value, list):
        return _fold(value)
    folded = [_fold(v) for v in value]
    try:
        return frozenset(folded)
    except TypeError:  # an unhashable member matches nothing a document holds; a list keeps that
        return folded


def _matches(actual: Any, operator: str, expected: Any) -> bool:
    """`expected` is already `_folded`."""
    actual = _fold(actual)
    if operator == "=":
        return actual == expected or (expected in (None, "") and actual in (None, ""))
    if operator == "!=":
        return actual != expected
    if operator == "IN":
        return actual in expected
    if operator == "NIN":
        return actual not in expected
    if isinstance(actual, str) and isinstance(expected, str):
        text_ops: dict[str, Callable[[], bool]] = {
            "~": lambda: expected in actual,
            "!~": lambda: expected not in actual,
            "^": lambda: actual.startswith(expected),
            "$": lambda: actual.endswith(expected),
        }
        if operator in text_ops:
            return text_ops[operator]()
    if actual is None or expected is None or operator in ("~", "!~", "^", "$"):
        return False
    try:
        return {"<": actual < expected, ">": actual > expected, "<=": actual <= expected, ">=": actual >= expected}[
            operator
        ]
    except TypeError:
        return False


def _day_start(timestamp: int) -> int:
    # Intercom matches dates by calendar day in the workspace timezone; the emulator's workspace is UTC.
    day = dt.datetime.fromtimestamp(timestamp, dt.UTC).date()
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _date_matches(actual: Any, operator: str, expected: int) -> bool:
    if actual is None:
        return False
    start = _day_start(expected)
    if operator == "=":
        return start <= actual < start + DAY
    if operator == "<":
        return actual < start
    return actual >= start + DAY  # ">" means from the start of the next day


def sort_documents(documents: Iterable[Document], sort: Any) -> list[Document]:
    documents = list(documents)
    if sort is None:
        return documents
    if not isinstance(sort, dict) or not isinstance(sort.get("field"), str):
        raise invalid("sort must be an object with a field")
    order = sort.get("order", "descending")
    if order not in ("ascending", "descending"):
        raise ApiError(400, "invalid_sort_order", "Sort order must be ascending or descending")
    field = sort["field"]

    def key(doc: Document) -> tuple[bool, Any]:
        value = field_value(doc, field)
        return (value is None, _fold(value) if value is not None else 0)

    present = [d for d in documents if not key(d)[0]]
    missing = [d for d in documents if key(d)[0]]
    return sorted(present, key=key, reverse=order == "descending") + missing
