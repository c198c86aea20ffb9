"""Evaluate a condition tree over a whole attribute frame at once (pandas, no per-row Python).

A missing value never satisfies a comparison (`ne` and `not_in` included); only `is_not_set`
matches it. `not:` negates the whole condition below it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import pandas as pd

from assets.plays.model import COMPANY_PREFIX, AllOf, Comparison, Condition, NotOf

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def evaluate(condition: Condition, frame: pd.DataFrame) -> pd.Series:
    """A boolean Series aligned with `frame`: which rows satisfy `condition`."""
    if isinstance(condition, Comparison):
        return _compare(condition, frame)
    if isinstance(condition, NotOf):
        return ~evaluate(condition.item, frame)
    result = pd.Series(isinstance(condition, AllOf), index=frame.index, dtype=bool)
    for item in condition.items:
        result = (result & evaluate(item, frame)) if isinstance(condition, AllOf) else (result | evaluate(item, frame))
    return result


def _compare(comparison: Comparison, frame: pd.DataFrame) -> pd.Series:
    if comparison.attribute not in frame.columns:
        raise KeyError(
            f"condition {comparison.describe()!r} needs column {comparison.attribute!r}, which is not computed"
        )
    column = frame[comparison.attribute]
    present = column.notna().astype(bool)
    if comparison.op == "is_set":
        return present
    if comparison.op == "is_not_set":
        return ~present
    if comparison.op in ("in", "not_in"):
        found = column.isin(list(comparison.value)).astype(bool)
        return present & (found if comparison.op == "in" else ~found)
    compared = _COMPARE[comparison.op](column, comparison.value)
    return present & pd.Series(compared, index=frame.index).fillna(False).astype(bool)


def with_company_columns(contacts: pd.DataFrame, companies: pd.DataFrame) -> pd.DataFrame:
    """`contacts` plus each company attribute as `company.<name>`, looked up by `company_id`."""
    by_id = companies.drop_duplicates("company_id").set_index("company_id")
    looked_up = by_id.reindex(contacts["company_id"].astype("string").to_numpy())
    looked_up.columns = [f"{COMPANY_PREFIX}{c}" for c in looked_up.columns]
    looked_up.index = contacts.index
    return contacts.join(looked_up)
