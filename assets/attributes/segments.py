"""Segment rules, evaluated vectorised over the contact attribute frame.

A rule is a conjunction of simple comparisons on attribute columns. A missing value never
satisfies a comparison, so a contact with no data is never placed in a segment by accident.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class Condition:
    attribute: str
    op: str
    value: str | int | float | bool

    def __post_init__(self) -> None:
        if self.op not in _OPERATORS:
            raise ValueError(f"unknown operator {self.op!r} on {self.attribute!r}; use one of {sorted(_OPERATORS)}")

    def describe(self) -> str:
        return f"{self.attribute} {self.op} {self.value!r}"


@dataclass(frozen=True)
class SegmentRule:
    name: str  # also the boolean contact attribute it writes
    title: str
    conditions: tuple[Condition, ...]

    def describe(self) -> str:
        return " and ".join(c.describe() for c in self.conditions)


PLAYBOOK_SEGMENTS: tuple[SegmentRule, ...] = (
    SegmentRule(
        "ready_for_pro_upgrade",
        "Ready for Pro Upgrade",
        (Condition("plan", "==", "free"), Condition("reports_created", ">", 8), Condition("account_age_days", ">", 14)),
    ),
    SegmentRule(
        "team_expansion_candidate",
        "Team Expansion Candidate",
        (Condition("plan", "==", "starter"), Condition("users_invited", ">", 3), Condition("seat_count", "<", 10)),
    ),
)


def evaluate_segments(contacts: pd.DataFrame, rules: Sequence[SegmentRule] = PLAYBOOK_SEGMENTS) -> pd.DataFrame:
    """One boolean column per rule, aligned with `contacts`' index."""
    result = pd.DataFrame(index=contacts.index)
    for rule in rules:
        member = pd.Series(True, index=contacts.index)
        for condition in rule.conditions:
            if condition.attribute not in contacts.columns:
                raise KeyError(f"segment {rule.name!r} needs attribute {condition.attribute!r}, which is not computed")
            column = contacts[condition.attribute]
            compared = _OPERATORS[condition.op](column, condition.value)
            member &= compared.fillna(False).astype(bool) & column.notna()
        result[rule.name] = member
    return result
