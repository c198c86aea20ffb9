"""Objects of one kind, indexed by id and kept ordered by (created, id) for Stripe's list pages.

A page is found by bisecting the ordered keys (cursor, `created` bounds) and walking from there, so
listing page N of a million subscriptions never sorts or scans the whole store. Bulk loads append
unsorted and sort once before the next read. Optional secondary indexes (e.g. subscriptions by
customer) keep their own ordered keys for fields that never change after creation.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

StripeObject = dict[str, Any]
Key = tuple[int, str]
Predicate = Callable[[StripeObject], bool]


@dataclass
class CreatedRange:
    """`created` bounds, inclusive on both sides (gt/lt are converted by the caller)."""

    gte: int | None = None
    lte: int | None = None


class _OrderedKeys:
    def __init__(self) -> None:
        self.keys: list[Key] = []
        self._sorted = True

    def add(self, key: Key, bulk: bool) -> None:
        if bulk:
            self.keys.append(key)
            self._sorted = False
        elif not self.keys or key > self.keys[-1]:
            self.keys.append(key)  # the usual case: created now, newest so far
        else:
            bisect.insort(self.keys, key)

    def discard(self, key: Key) -> None:
        keys = self.ordered()
        position = bisect.bisect_left(keys, key)
        if position < len(keys) and keys[position] == key:
            del keys[position]

    def ordered(self) -> list[Key]:
        if not self._sorted:
            self.keys.sort()
            self._sorted = True
        return self.keys


class Collection:
    def __init__(self, indexed_fields: Iterable[str] = (), time_field: str = "created") -> None:
        self._indexed_fields = tuple(indexed_fields)
        self._time_field = time_field  # discounts have `start`, not `created`
        self.clear()

    def clear(self) -> None:
        self.by_id: dict[str, StripeObject] = {}
        self._all = _OrderedKeys()
        self._indexes: dict[str, dict[str, _OrderedKeys]] = {f: {} for f in self._indexed_fields}

    def __len__(self) -> int:
        return len(self.by_id)

    def __contains__(self, object_id: str) -> bool:
        return object_id in self.by_id

    def get(self, object_id: str) -> StripeObject | None:
        return self.by_id.get(object_id)

    def add(self, obj: StripeObject, bulk: bool = False) -> None:
        """Insert a new object; replacing an existing id must go through `replace`."""
        key = (obj[self._time_field], obj["id"])
        self.by_id[obj["id"]] = obj
        self._all.add(key, bulk)
        for field in self._indexed_fields:
            value = obj.get(field)
            if isinstance(value, str):
                index = self._indexes[field]
                keys = index.get(value)
                if keys is None:
                    keys = index[value] = _OrderedKeys()
                keys.add(key, bulk)

    def replace(self, obj: StripeObject) -> None:
        """Store a new version of an existing object (its time and indexed fields never change)."""
        self.by_id[obj["id"]] = obj

    def remove(self, object_id: str) -> None:
        """Forget an object (a deletion); its keys leave the ordered lists and indexes."""
        obj = self.by_id.pop(object_id)
        key = (obj[self._time_field], object_id)
        self._all.discard(key)
        for field in self._indexed_fields:
            value = obj.get(field)
            if isinstance(value, str) and value in self._indexes[field]:
                self._indexes[field][value].discard(key)

    def has_indexed(self, field: str, value: str) -> bool:
        keys = self._indexes[field].get(value)
        return bool(keys and keys.keys)

    def values(self) -> Iterator[StripeObject]:
        return (self.by_id[object_id] for _, object_id in self._all.ordered())

    def page(
        self,
        *,
        limit: int,
        created: CreatedRange,
        predicate: Predicate | None = None,
        starting_after: str | None = None,
        ending_before: str | None = None,
        index: tuple[str, str] | None = None,
    ) -> tuple[list[StripeObject], bool]:
        """Newest-first page and `has_more`, as Stripe pages.

        With `ending_before`, the page holds the `limit` objects just newer than the cursor and
        `has_more` says whether still newer ones exist (that is how clients page backwards).
        Cursor ids must exist in this collection (the caller checks, to answer Stripe's error).
        """
        keys = self._keys_for(index)
        lo = 0 if created.gte is None else bisect.bisect_left(keys, (created.gte, ""))
        hi = len(keys) if created.lte is None else bisect.bisect_left(keys, (created.lte + 1, ""))
        if ending_before is not None:
            cursor = self.by_id[ending_before]
            lo = max(lo, bisect.bisect_right(keys, (cursor[self._time_field], cursor["id"])))
            found = self._walk(keys, range(lo, hi), predicate, limit + 1)
            return list(reversed(found[:limit])), len(found) > limit
        if starting_after is not None:
            cursor = self.by_id[starting_after]
            hi = min(hi, bisect.bisect_left(keys, (cursor[self._time_field], cursor["id"])))
        found = self._walk(keys, range(hi - 1, lo - 1, -1), predicate, limit + 1)
        return found[:limit], len(found) > limit

    def _keys_for(self, index: tuple[str, str] | None) -> list[Key]:
        if index is None:
            return self._all.ordered()
        field, value = index
        keys = self._indexes[field].get(value)
        return keys.ordered() if keys else []

    def _walk(self, keys: list[Key], positions: range, predicate: Predicate | None, wanted: int) -> list[StripeObject]:
        found: list[StripeObject] = []
        for position in positions:
            obj = self.by_id[keys[position][1]]
            if predicate is None or predicate(obj):
                found.append(obj)
                if len(found) == wanted:
                    break
        return found


def clone(value: Any) -> Any:
    """A copy to modify into an object's next version; embedded prices stay shared (immutable)."""
    if isinstance(value, dict):
        if value.get("object") == "price":
            return value
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value
