"""Stripe's list endpoints: `limit`, `starting_after`/`ending_before` cursors and `created` filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulators.stripe.errors import invalid, no_such
from emulators.stripe.objects import list_object
from emulators.stripe.store import Collection, CreatedRange

StripeObject = dict[str, Any]
Params = dict[str, Any]


def parse_limit(params: Params) -> int:
    raw = params.get("limit", "10")
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {raw}", "limit") from None
    if not 1 <= limit <= 100:
        raise invalid("Invalid limit: must be between 1 and 100", "limit")
    return limit


def _timestamp(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param) from None


def parse_created(params: Params) -> CreatedRange:
    """`created=T` or `created[gt|gte|lt|lte]=T`, as one inclusive range."""
    raw = params.get("created")
    if raw is None:
        return CreatedRange()
    if not isinstance(raw, dict):
        exact = _timestamp(raw, "created")
        return CreatedRange(exact, exact)
    unknown = set(raw) - {"gt", "gte", "lt", "lte"}
    if unknown:
        raise invalid(f"Received unknown parameter: created[{sorted(unknown)[0]}]", "created")
    lows = [_timestamp(raw[k], f"created[{k}]") + (k == "gt") for k in ("gt", "gte") if k in raw]
    highs = [_timestamp(raw[k], f"created[{k}]") - (k == "lt") for k in ("lt", "lte") if k in raw]
    return CreatedRange(max(lows) if lows else None, min(highs) if highs else None)


def list_response(
    collection: Collection,
    params: Params,
    *,
    kind: str,
    url: str,
    predicate: Callable[[StripeObject], bool] | None = None,
    index: tuple[str, str] | None = None,
    created_floor: int | None = None,
) -> StripeObject:
    """One page in Stripe's list shape. `created_floor` hides older objects (events' retention)."""
    limit = parse_limit(params)
    created = parse_created(params)
    if created_floor is not None:
        created.gte = max(created.gte or created_floor, created_floor)
    starting_after, ending_before = params.get("starting_after"), params.get("ending_before")
    if starting_after and ending_before:
        raise invalid("You may only specify one of these parameters: ending_before, starting_after.", "ending_before")
    for param, cursor in (("starting_after", starting_after), ("ending_before", ending_before)):
        obj = collection.get(cursor) if cursor else None
        if cursor and (obj is None or (created_floor is not None and obj["created"] < created_floor)):
            raise no_such(kind, cursor, param=param)
    data, has_more = collection.page(
        limit=limit,
        created=created,
        predicate=predicate,
        starting_after=starting_after or None,
        ending_before=ending_before or None,
        index=index,
    )
    return list_object(data, url, has_more)
