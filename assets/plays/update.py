"""One run's plays: evaluate every segment on today's frames and turn memberships into push columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from assets.plays.attributes import segment_attribute_names
from assets.plays.conditions import with_company_columns
from assets.plays.membership import CONTROL, TREATMENT, SegmentChange, plan_segment
from assets.plays.model import Model, Plays
from assets.plays.tiers import tier_columns

KEYS: dict[Model, str] = {"contact": "external_id", "company": "company_id"}
_EPOCH = pd.Timestamp(0)


@dataclass(frozen=True)
class MembershipUpdate:
    """Today's change per segment and the attribute columns the push adds to each model's frame."""

    day: date
    changes: tuple[SegmentChange, ...]
    columns: dict[Model, pd.DataFrame]  # key column + one column per play attribute of that model

    def join(self, frame: pd.DataFrame, model: Model) -> pd.DataFrame:
        """`frame` (contact or company attributes) with the play attribute columns joined by key."""
        return frame.merge(self.columns[model], on=KEYS[model], how="left", validate="one_to_one")

    def change(self, segment: str) -> SegmentChange:
        return next(c for c in self.changes if c.segment == segment)


def evaluation_frames(contacts: pd.DataFrame, companies: pd.DataFrame, plays: Plays) -> dict[Model, pd.DataFrame]:
    """The frames conditions read: companies with their tier columns; contacts with `company.*` too."""
    companies = companies.merge(tier_columns(companies, plays), on="company_id", how="left")
    return {"contact": with_company_columns(contacts, companies), "company": companies}


def plan_plays(plays: Plays, frames: dict[Model, pd.DataFrame], stints: pd.DataFrame, today: date) -> MembershipUpdate:
    changes = tuple(
        plan_segment(s, frames[s.model], stints[stints["segment"] == s.name], today) for s in plays.segments
    )
    columns: dict[Model, pd.DataFrame] = {}
    for model, key in KEYS.items():
        frame = frames[model]
        out = pd.DataFrame({key: frame[key].astype(str).to_numpy()})
        if model == "company":
            out = out.join(frame[["value_tier", "acv", "route_to_sales"]].reset_index(drop=True))
        for segment, change in zip(plays.segments, changes, strict=True):
            if segment.model == model:
                out = _segment_columns(out, key, segment.name, change.members)
        columns[model] = out
    return MembershipUpdate(today, changes, columns)


def _segment_columns(out: pd.DataFrame, key: str, name: str, members: pd.DataFrame) -> pd.DataFrame:
    member, control, entered = segment_attribute_names(name)
    by_key = members.set_index("key").reindex(out[key].to_numpy())
    group = by_key["group"].to_numpy()
    out[member] = group == TREATMENT  # true for treatment only: messages never reach the holdout
    out[control] = group == CONTROL
    seconds = (pd.to_datetime(by_key["entered_on"]) - _EPOCH) // pd.Timedelta(seconds=1)
    out[entered] = pd.array(seconds.to_numpy(), dtype="Int64")
    return out


def changes_table(changes: Sequence[SegmentChange], limit: int) -> pd.DataFrame:
    """Who enters and who leaves, per segment (the dry run's list), at most `limit` rows."""
    parts = [
        pd.DataFrame({"segment": c.segment, "key": c.entered["key"], "change": "enter", "detail": c.entered["group"]})
        for c in changes
    ] + [
        pd.DataFrame(
            {"segment": c.segment, "key": c.exited["key"], "change": "leave", "detail": c.exited["exit_reason"]}
        )
        for c in changes
    ]
    table = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["segment", "key", "change", "detail"])
    )
    return table.sort_values(["segment", "change", "key"]).head(limit).reset_index(drop=True)
