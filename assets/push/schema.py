"""Which custom attributes Intercom must gain before revsync writes, and what forbids it. Pure.

Intercom's rules (docs/push.md): custom attribute names are unique across the contact and company
models, a type can't change through the API, a workspace holds at most 250 custom attributes
(archived ones free their slot), and `stripe_*` belongs to Intercom's own Stripe app.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assets.attributes import RESERVED_PREFIX, AttributeSpec

MAX_CUSTOM_ATTRIBUTES = 250
_VALID_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class AttributeSchemaError(Exception):
    """The workspace can't take revsync's attributes; nothing was written."""


@dataclass(frozen=True)
class NamedSpec:
    spec: AttributeSpec
    name: str  # as written to Intercom, prefix included


@dataclass
class SchemaPlan:
    present: list[NamedSpec] = field(default_factory=list)
    to_create: list[NamedSpec] = field(default_factory=list)
    to_unarchive: list[tuple[NamedSpec, Any]] = field(default_factory=list)  # with the attribute id
    problems: list[str] = field(default_factory=list)
    slots_left: int = MAX_CUSTOM_ATTRIBUTES

    def raise_for_problems(self) -> None:
        if self.problems:
            raise AttributeSchemaError(
                "Intercom data attributes block the push (no contact or company was touched):\n- "
                + "\n- ".join(self.problems)
            )


def plan_attribute_schema(
    specs: Sequence[AttributeSpec],
    existing: Sequence[dict[str, Any]],
    prefix: str = "",
    cap: int = MAX_CUSTOM_ATTRIBUTES,
) -> SchemaPlan:
    """Compare the catalog with `GET /data_attributes` of both models (archived included)."""
    plan = SchemaPlan()
    by_name: dict[str, list[dict[str, Any]]] = {}
    for attribute in existing:
        by_name.setdefault(str(attribute.get("name")), []).append(attribute)
    used = sum(1 for a in existing if a.get("custom") and not a.get("archived"))

    for spec in specs:
        named = NamedSpec(spec, spec.full_name(prefix))
        if named.name.lower().startswith(RESERVED_PREFIX):
            plan.problems.append(f"'{named.name}': `{RESERVED_PREFIX}*` names belong to Intercom's Stripe app")
            continue
        if not _VALID_NAME.match(named.name):
            plan.problems.append(f"'{named.name}': only letters, digits, `_` and `-` are allowed")
            continue
        matches = by_name.get(named.name, [])
        same_model = [a for a in matches if a.get("model") == spec.model]
        other_model = [a for a in matches if a.get("model") != spec.model and a.get("custom")]
        if other_model:
            plan.problems.append(
                f"'{named.name}' already exists on the {other_model[0].get('model')} model; revsync writes it on "
                f"{spec.model} (names are unique across models: set an attribute prefix or rename)"
            )
        elif not same_model:
            plan.to_create.append(named)
        elif not same_model[0].get("custom"):
            plan.problems.append(f"'{named.name}' is one of Intercom's standard {spec.model} attributes")
        elif same_model[0].get("data_type") != spec.data_type:
            plan.problems.append(
                f"{spec.model} attribute '{named.name}' is {same_model[0].get('data_type')} in Intercom, revsync "
                f"writes {spec.data_type} (types can't change through the API: archive it or set a prefix)"
            )
        elif same_model[0].get("archived"):
            plan.to_unarchive.append((named, same_model[0].get("id")))
        else:
            plan.present.append(named)

    plan.slots_left = cap - used
    needed = [n.name for n in plan.to_create] + [n.name for n, _ in plan.to_unarchive]
    if len(needed) > plan.slots_left:
        plan.problems.append(
            f"{len(needed)} custom attributes are needed but only {max(plan.slots_left, 0)} of {cap} slots are "
            f"left (archive unused attributes); needed: {', '.join(needed)}"
        )
    return plan
