"""The checks that gate the push, as plain functions: each returns a `CheckOutcome`. Pure.

A failed outcome's summary says what was found and where to look, because it is what an operator
reads at 02:00 in the run's failure and in the alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

MetadataValue = int | float | str


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    summary: str
    metadata: dict[str, MetadataValue] = field(default_factory=dict)


def _percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def unique_keys(frame: pd.DataFrame, key: str, records: str) -> CheckOutcome:
    """Every row has a key and no key appears twice: Intercom upserts by it."""
    keys = frame[key]
    missing = int(keys.isna().sum())
    duplicated = keys.dropna()[keys.dropna().duplicated(keep=False)]
    examples = sorted({str(k) for k in duplicated})[:5]
    metadata: dict[str, MetadataValue] = {"rows": len(frame), "missing_keys": missing, "duplicate_keys": len(examples)}
    if missing or len(duplicated):
        metadata["duplicate_examples"] = ", ".join(examples)
        return CheckOutcome(
            False,
            f"{records} `{key}`: {missing} row(s) without one, {duplicated.nunique()} value(s) used more than once "
            f"(e.g. {examples}); fix the warehouse rows before pushing",
            metadata,
        )
    return CheckOutcome(True, f"{len(frame)} {records}, every `{key}` present and unique", metadata)


def usage_freshness(newest: datetime | None, now: datetime, max_age_hours: float) -> CheckOutcome:
    """The newest usage event is recent: a stale table would empty every usage segment."""
    if newest is None:
        return CheckOutcome(
            False,
            "the warehouse has no usage event at all; check the usage_events load",
            {"max_age_hours": max_age_hours},
        )
    age_hours = round((now - newest).total_seconds() / 3600, 2)
    metadata: dict[str, MetadataValue] = {
        "newest_event_at": newest.isoformat(),
        "age_hours": age_hours,
        "max_age_hours": max_age_hours,
    }
    if age_hours > max_age_hours:
        return CheckOutcome(
            False,
            f"the newest usage event is {age_hours} h old (limit {max_age_hours} h, at {newest.isoformat()}); "
            "the warehouse's usage_events load is late or stopped",
            metadata,
        )
    return CheckOutcome(True, f"newest usage event {age_hours} h old", metadata)


def share_at_most(count: int, total: int, max_percent: float, what: str, look_at: str) -> CheckOutcome:
    """`count` of `total` is at most `max_percent` %."""
    share = _percent(count, total)
    metadata: dict[str, MetadataValue] = {"count": count, "total": total, "percent": share, "max_percent": max_percent}
    if share > max_percent:
        return CheckOutcome(False, f"{count} of {total} {what} ({share} % > {max_percent} %); see {look_at}", metadata)
    return CheckOutcome(True, f"{count} of {total} {what} ({share} %)", metadata)


def revenue_swing(
    last_pushed: pd.Series, current: pd.Series, held_back: set[str], explained: set[str], max_swing_percent: float
) -> CheckOutcome:
    """Total reporting MRR (major units, per account) against the last push.

    A larger move than `max_swing_percent` passes only when Stripe explains it: every account that
    lost MRR without a Stripe record saying why (a cancellation, an end, a status that stops
    counting; `explained` lists those that have one) is unexplained, and their loss must stay within
    the limit. Gains come from subscriptions Stripe returned, so they explain themselves. A
    `held_back` account keeps its pushed value (Intercom keeps it); any other account missing from
    `current` has no MRR now.
    """
    last_total = float(last_pushed.sum())
    now = current.reindex(current.index.union(last_pushed.index)).fillna(0.0)
    kept = now.index.isin(list(held_back))
    now[kept] = last_pushed.reindex(now.index[kept]).fillna(0.0).to_numpy()
    current_total = float(now.sum())
    metadata: dict[str, MetadataValue] = {
        "last_pushed_mrr": round(last_total, 2),
        "mrr": round(current_total, 2),
        "swing_percent": _percent(current_total - last_total, last_total),
        "max_swing_percent": max_swing_percent,
    }
    if not len(last_pushed) or last_total == 0:
        return CheckOutcome(True, "no MRR pushed before: nothing to compare with", metadata)
    before = last_pushed.reindex(now.index).fillna(0.0)
    loss = (before - now).clip(lower=0)
    unexplained = loss[(loss > 0) & ~loss.index.isin(list(explained))]
    metadata["unexplained_loss_mrr"] = round(float(unexplained.sum()), 2)
    metadata["unexplained_accounts"] = len(unexplained)
    swing = abs(float(metadata["swing_percent"]))
    unexplained_percent = _percent(float(unexplained.sum()), last_total)
    if swing <= max_swing_percent:
        return CheckOutcome(True, f"MRR moved {metadata['swing_percent']} % since the last push", metadata)
    if unexplained_percent <= max_swing_percent:
        return CheckOutcome(
            True,
            f"MRR moved {metadata['swing_percent']} %, explained by Stripe's cancellations and new revenue",
            metadata,
        )
    examples = ", ".join(unexplained.sort_values(ascending=False).index[:5].astype(str))
    metadata["unexplained_examples"] = examples
    return CheckOutcome(
        False,
        f"MRR moved {metadata['swing_percent']} % since the last push ({last_total:,.2f} -> {current_total:,.2f}); "
        f"{len(unexplained)} account(s) lost {unexplained_percent} % of it with no cancellation or status change in "
        f"Stripe (e.g. {examples}): check Stripe's subscription list (an outage or a partial read?)",
        metadata,
    )


def segment_swing(last_pushed: Mapping[str, int], current: Mapping[str, int], max_swing_percent: float) -> CheckOutcome:
    """Each segment's size against the last push; a large move is worth a look (a warning)."""
    metadata: dict[str, MetadataValue] = {f"{name}_size": size for name, size in current.items()}
    moved = []
    for name, size in current.items():
        before = last_pushed.get(name, 0)
        change = _percent(size - before, before)
        metadata[f"{name}_change_percent"] = change
        if before and abs(change) > max_swing_percent:
            moved.append(f"{name} {before} -> {size} ({change:+} %)")
    if moved:
        return CheckOutcome(
            False,
            f"segment size moved more than {max_swing_percent} %: {'; '.join(moved)}; check the usage and plan inputs",
            metadata,
        )
    return CheckOutcome(True, "segment sizes within range of the last push", metadata)
