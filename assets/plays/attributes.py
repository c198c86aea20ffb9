"""The Intercom attributes the plays add to the catalog, and the attributes conditions may read.

Per segment: `<name>` (true for treatment members only, so a message built on it never reaches the
holdout), `<name>_control` (true for holdout members) and `<name>_entered_at` (date of entry).
Per company: `value_tier`, `acv` and `route_to_sales` from the file's tiers.
"""

from __future__ import annotations

from collections.abc import Iterable

from assets.attributes.catalog import AttributeSpec, DataType, catalog
from assets.plays.model import Model, Plays, Segment

CONTROL_SUFFIX = "_control"
ENTERED_SUFFIX = "_entered_at"

TIER_ATTRIBUTES: list[AttributeSpec] = [
    AttributeSpec(
        "value_tier", "company", "string", "The highest tier in plays.yaml that the account's reporting MRR reaches."
    ),
    AttributeSpec("acv", "company", "float", "Annual contract value: 12 x the account's reporting MRR, major units."),
    AttributeSpec("route_to_sales", "company", "boolean", "`acv` is at least plays.yaml's `acv_route_threshold`."),
]

# Columns of the attribute frames that are not custom attributes but may be read by conditions.
STANDARD_FIELDS: dict[Model, dict[str, DataType]] = {
    "contact": {"email": "string", "name": "string", "company_id": "string", "signed_up_at": "date"},
    "company": {
        "company_id": "string",
        "name": "string",
        "plan": "string",
        "monthly_spend": "float",
        "remote_created_at": "date",
    },
}


def segment_attribute_names(name: str) -> tuple[str, str, str]:
    return name, f"{name}{CONTROL_SUFFIX}", f"{name}{ENTERED_SUFFIX}"


def segment_attributes(segment: Segment) -> list[AttributeSpec]:
    member, control, entered = segment_attribute_names(segment.name)
    who = "contact" if segment.model == "contact" else "company"
    return [
        AttributeSpec(member, segment.model, "boolean", f"Play: {segment.title} — true for treatment members only."),
        AttributeSpec(
            control, segment.model, "boolean", f"Play: {segment.title} — true for holdout (control) members."
        ),
        AttributeSpec(entered, segment.model, "date", f"Play: {segment.title} — when the {who} entered the segment."),
    ]


def play_attributes(plays: Plays) -> list[AttributeSpec]:
    """The tier attributes (every company gets them), then each segment's, in file order."""
    return [*TIER_ATTRIBUTES, *(spec for segment in plays.segments for spec in segment_attributes(segment))]


def sync_catalog(usage_metrics: dict[str, str] | None, plays: Plays) -> list[AttributeSpec]:
    """Everything the push writes: the attributes group's catalog plus the plays' attributes."""
    return [*catalog(usage_metrics), *play_attributes(plays)]


def readable_attributes(usage_metrics: dict[str, str] | None) -> dict[Model, dict[str, DataType]]:
    """Per model: the attributes a condition may compare, with their types."""
    readable: dict[Model, dict[str, DataType]] = {m: dict(fields) for m, fields in STANDARD_FIELDS.items()}
    specs: Iterable[AttributeSpec] = [*catalog(usage_metrics), *TIER_ATTRIBUTES]
    for spec in specs:
        readable[spec.model][spec.name] = spec.data_type
    return readable
