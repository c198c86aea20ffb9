"""Stripe's `expand[]`: validate dotted paths against a map of the object graph, then expand.

Validation is static (by object kind), so an empty list rejects a bad path the same way a full one
does. A path of more than four segments is rejected before anything else; on list endpoints the
leading `data` is one of them, exactly as Stripe counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

MAX_DEPTH = 4


@dataclass(frozen=True)
class Edge:
    """`ref`: an id (or list of ids) expandable to `target`; `nested`: an embedded `target`
    object that paths walk through; `include`: a field only present when expanded."""

    kind: str
    target: str = ""


def _list_of(kind: str) -> dict[str, Edge]:
    return {"data": Edge("nested", kind)}


GRAPH: dict[str, dict[str, Edge]] = {
    "customer": {},
    "product": {"default_price": Edge("ref", "price")},
    "price": {"product": Edge("ref", "product"), "tiers": Edge("include")},
    "coupon": {},
    "discount": {
        "customer": Edge("ref", "customer"),
        "subscription": Edge("ref", "subscription"),
        "source": Edge("nested", "discount_source"),
    },
    "discount_source": {"coupon": Edge("ref", "coupon")},
    "subscription": {
        "customer": Edge("ref", "customer"),
        "latest_invoice": Edge("ref", "invoice"),
        "discounts": Edge("ref", "discount"),
        "items": Edge("nested", "list:subscription_item"),
    },
    "subscription_item": {"price": Edge("nested", "price"), "discounts": Edge("ref", "discount")},
    "invoice": {
        "customer": Edge("ref", "customer"),
        "discounts": Edge("ref", "discount"),
        "parent": Edge("nested", "invoice_parent"),
        "lines": Edge("nested", "list:line_item"),
    },
    "invoice_parent": {"subscription_details": Edge("nested", "invoice_subscription_details")},
    "invoice_subscription_details": {"subscription": Edge("ref", "subscription")},
    "line_item": {"discounts": Edge("ref", "discount")},
    "invoice_payment": {"invoice": Edge("ref", "invoice")},
    "charge": {"customer": Edge("ref", "customer")},
    "refund": {"charge": Edge("ref", "charge")},
    "event": {},
}


def _edges(kind: str) -> dict[str, Edge]:
    if kind.startswith("list:"):
        return _list_of(kind.removeprefix("list:"))
    return GRAPH[kind]


class ExpandError(ValueError):
    pass


class Resolver(Protocol):
    def fetch(self, kind: str, object_id: str) -> dict[str, Any] | None:
        """The rendered object, or None when the id is unknown (the id is then left as is)."""

    def include(self, kind: str, obj: dict[str, Any], field: str) -> Any:
        """The value of an include-only field of `obj`."""


def validate(kind: str, path: str) -> list[str]:
    segments = path.split(".")
    if len(segments) > MAX_DEPTH:
        raise ExpandError("You cannot expand more than 4 levels of a property")
    for i, segment in enumerate(segments):
        edge = _edges(kind).get(segment)
        last = i == len(segments) - 1
        if edge is None or (last and edge.kind == "nested") or (not last and edge.kind == "include"):
            raise ExpandError(f"This property cannot be expanded ({path})")
        kind = edge.target
    return segments


def expand(obj: Any, kind: str, paths: list[str], resolver: Resolver) -> Any:
    """Expand `paths` in place on `obj` (a rendered copy); raises ExpandError before any change."""
    checked = [validate(kind, path) for path in paths]
    for segments in checked:
        _apply(obj, kind, segments, resolver)
    return obj


def _apply(node: Any, kind: str, segments: list[str], resolver: Resolver) -> None:
    if isinstance(node, list):
        for element in node:
            _apply(element, kind, segments, resolver)
        return
    if not isinstance(node, dict):
        return
    field, rest = segments[0], segments[1:]
    edge = _edges(kind)[field]
    if edge.kind == "include":
        node[field] = resolver.include(kind, node, field)
        return
    value = node.get(field)
    if edge.kind == "ref":
        if isinstance(value, str):
            value = resolver.fetch(edge.target, value) or value
        elif isinstance(value, list):
            value = [resolver.fetch(edge.target, v) or v if isinstance(v, str) else v for v in value]
        if value is not None:
            node[field] = value
    if rest and value is not None:
        _apply(value, edge.target, rest, resolver)
