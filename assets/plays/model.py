"""The plays file as typed values: segments, their conditions, holdouts, goals and value tiers.

Structure and ranges are checked by pydantic (`PlaysFileModel`); conditions are parsed into the
small tree below by `assets/plays/load.py`, which also checks them against the attribute catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Model = Literal["contact", "company"]
Op = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_set", "is_not_set"]
OPS: tuple[str, ...] = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_set", "is_not_set")
COMPANY_PREFIX = "company."
DEFAULT_ACV_ROUTE_THRESHOLD = 5000.0


@dataclass(frozen=True)
class Comparison:
    attribute: str  # `company.<name>` in a contact segment reads the contact's company
    op: str
    value: Any = None  # None for is_set / is_not_set; a list for in / not_in

    def describe(self) -> str:
        if self.op in ("is_set", "is_not_set"):
            return f"{self.attribute} {self.op}"
        return f"{self.attribute} {self.op} {self.value!r}"


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]

    def describe(self) -> str:
        return "(" + " and ".join(i.describe() for i in self.items) + ")"


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]

    def describe(self) -> str:
        return "(" + " or ".join(i.describe() for i in self.items) + ")"


@dataclass(frozen=True)
class NotOf:
    item: Condition

    def describe(self) -> str:
        return f"not {self.item.describe()}"


Condition = Comparison | AllOf | AnyOf | NotOf


def comparisons(condition: Condition) -> list[Comparison]:
    """Every comparison in a condition tree, in file order."""
    if isinstance(condition, Comparison):
        return [condition]
    if isinstance(condition, NotOf):
        return comparisons(condition.item)
    return [c for item in condition.items for c in comparisons(item)]


class SegmentModel(BaseModel):
    """One segment as written in the file (conditions still raw)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")
    title: str = Field(min_length=1)
    description: str = ""
    model: Model = "contact"
    when: dict[str, Any]
    holdout_percent: float = Field(default=0, ge=0, le=50)
    holdout_salt: str = ""
    goal: dict[str, Any] | None = None
    goal_window_days: int = Field(default=30, ge=1, le=365)
    cooldown_days: int = Field(default=14, ge=0, le=365)
    suppress_after_goal: bool = True


class TierModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    min_mrr: float = Field(ge=0)


class PlaysFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segments: list[SegmentModel] = Field(default_factory=list)
    tiers: list[TierModel] = Field(default_factory=list)
    acv_route_threshold: float = Field(default=DEFAULT_ACV_ROUTE_THRESHOLD, gt=0)


@dataclass(frozen=True)
class Segment:
    name: str
    title: str
    description: str
    model: Model
    when: Condition
    holdout_percent: float
    holdout_salt: str
    goal: Condition | None
    goal_window_days: int
    cooldown_days: int
    suppress_after_goal: bool

    @property
    def key(self) -> str:
        """The frame column that identifies a member."""
        return "external_id" if self.model == "contact" else "company_id"


@dataclass(frozen=True)
class Tier:
    name: str
    min_mrr: float  # reporting-currency MRR, major units, from which the tier applies


@dataclass(frozen=True)
class Plays:
    source: str  # the file it came from, for messages and metadata
    segments: tuple[Segment, ...]
    tiers: tuple[Tier, ...]
    acv_route_threshold: float

    def segment(self, name: str) -> Segment:
        return next(s for s in self.segments if s.name == name)
