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


INDEXED_FIELDS = ("email", "external_id")  # what identity lookups filter on with = or IN


class SearchIndex:
    """What search sees: each contact's newest version that is at least `lag_seconds` old.

    Intercom indexes asynchronously, so a new contact is invisible and an updated one shows its old
    values for a while. Versions older than the visible one are dropped as time passes.

    Like Intercom's, equality on `email` and `external_id` is looked up, not scanned: a value index
    names every contact any of whose versions held a value (a superset, so the query's own
    predicate still decides), which keeps a million-contact workspace's lookups cheap.
    """

    def __init__(self, lag_seconds: float) -> None:
        self.lag_seconds = lag_seconds
        self._versions: dict[str, list[tuple[float, Document | None]]] = {}
        self._by_value: dict[str, dict[Any, set[str]]] = {field: {} for field in INDEXED_FIELDS}
        self._position: dict[str, int] = {}  # when each contact was first indexed: the scan's order

    def record(self, contact_id: str, now: float, document: Document | None) -> None:
        """`document` None means the contact left the index (archived, merged)."""
        versions = self._versions.setdefault(contact_id, [])
        self._position.setdefault(contact_id, len(self._position))
        versions.append((now, document))
        self._compact(versions, now)
        for field in INDEXED_FIELDS if document is not None else ():
            value = _fold(document.get(field))
            if value is not None:
                self._by_value[field].setdefault(value, set()).add(contact_id)

    def documents(self, now: float, query: Any = None) -> list[Document]:
        """The visible documents, in the order contacts were first indexed; only those `query`'s
        indexed equalities can match when it has any (`candidates`)."""
        ids = candidates(query, self._by_value) if query is not None else None
        if ids is None:
            chosen: Iterable[tuple[str, list[tuple[float, Document | None]]]] = self._versions.items()
        else:
            chosen = sorted(((i, self._versions[i]) for i in ids), key=lambda item: self._position[item[0]])
        visible: list[Document] = []
        for _, versions in chosen:
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
        self._position.clear()
        for index in self._by_value.values():
            index.clear()


def candidates(query: Any, by_value: dict[str, dict[Any, set[str]]]) -> set[str] | None:
    """The contacts a (compiled, so valid) query can match by its indexed equalities, or None when
    it has to scan: an `=`/`IN` on an indexed field, an OR whose every part has candidates, an AND
    with one part that has."""
    operator = query.get("operator")
    if operator in ("AND", "OR"):
        parts = [candidates(part, by_value) for part in query["value"]]
        if operator == "OR":
            return None if any(p is None for p in parts) else set().union(*parts)  # type: ignore[arg-type]
        narrowed = [p for p in parts if p is not None]
        return set.intersection(*narrowed) if narrowed else None
    field, value = query.get("field"), query.get("value")
    if field not in by_value or operator not in ("=", "IN") or (operator == "=" and value in (None, "")):
        return None
    values = value if operator == "IN" else [value]
    if None in values:  # a contact without the field matches null, and the index holds values only
        return None
    found: set[str] = set()
    for v in values:
        folded = _fold(v)
        if isinstance(folded, (str, int, float)):  # an unhashable member matches nothing
            found |= by_value[field].get(folded, set())
    return found


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
