"""Who enters, stays in, leaves and converts in a segment today, from the rules and the stored history.

A membership is a *stint*: entered on a day, in a group (treatment or control), and possibly exited
and/or converted later. Rules, in order, for a key present in today's frame:
- Goal met today, on its latest stint within `goal_window_days` of entry and not yet converted:
  the stint converts today, and an open stint closes (reason `converted`).
- An open stint whose rule no longer holds closes today (reason `left`).
- A key that qualifies, has no open stint and does not already meet the goal enters today unless
  its latest stint converted and `suppress_after_goal` is set (suppressed for good), or that stint
  closed fewer than `cooldown_days` ago, or today (cooldown).
Keys absent from today's frame (held back, deleted) keep whatever they had: absence is not an exit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from assets.plays.conditions import evaluate
from assets.plays.holdout import in_control
from assets.plays.model import Segment

STINT_COLUMNS = ["segment", "key", "entered_on", "group", "exited_on", "converted_on", "exit_reason"]
TREATMENT, CONTROL = "treatment", "control"


def empty_stints() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in STINT_COLUMNS})
    for column in ("entered_on", "exited_on", "converted_on"):
        frame[column] = pd.Series(dtype="datetime64[ns]")
    return frame


@dataclass(frozen=True)
class SegmentChange:
    segment: str
    entered: pd.DataFrame  # key, group, entered_on
    exited: pd.DataFrame  # key, entered_on, exit_reason
    converted: pd.DataFrame  # key, entered_on
    members: pd.DataFrame  # key, group, entered_on: the open stints after today's change
    held_by_cooldown: int
    suppressed: int

    def sizes(self) -> dict[str, int]:
        groups = self.members["group"]
        return {
            "members": len(self.members),
            "treatment": int((groups == TREATMENT).sum()),
            "control": int((groups == CONTROL).sum()),
            "entering": len(self.entered),
            "leaving": len(self.exited),
            "converting": len(self.converted),
            "held_by_cooldown": self.held_by_cooldown,
            "suppressed": self.suppressed,
        }


def plan_segment(segment: Segment, frame: pd.DataFrame, stints: pd.DataFrame, today: date) -> SegmentChange:
    """Today's change for one segment. `frame` has the segment's key column and every column its
    conditions read; `stints` holds this segment's stored stints (any order)."""
    day = pd.Timestamp(today)
    keys = frame[segment.key].astype(str).to_numpy()
    qualifies = pd.Series(evaluate(segment.when, frame).to_numpy(), index=keys)
    goal_met = (
        pd.Series(evaluate(segment.goal, frame).to_numpy(), index=keys)
        if segment.goal is not None
        else pd.Series(False, index=keys)
    )
    latest_of_all = stints.sort_values("entered_on").groupby("key").tail(1).set_index("key")
    latest = latest_of_all[latest_of_all.index.isin(keys)]
    is_open = latest["exited_on"].isna()

    in_window = (day - latest["entered_on"]).dt.days <= segment.goal_window_days
    converts = latest["converted_on"].isna() & in_window & goal_met.reindex(latest.index).fillna(False).astype(bool)
    leaves_converted = is_open & converts
    leaves_rule = is_open & ~converts & ~qualifies.reindex(latest.index).fillna(False).astype(bool)

    closing = leaves_converted | leaves_rule
    after = latest.copy()  # the latest stints as they will be once today's change is recorded
    after.loc[converts, "converted_on"] = day
    after.loc[closing, "exited_on"] = day
    still_open = after[after["exited_on"].isna()]
    candidates = qualifies[qualifies & ~goal_met & ~qualifies.index.isin(still_open.index)].index
    previous = after.reindex(candidates)
    suppressed = previous["converted_on"].notna() & segment.suppress_after_goal
    since_close = (day - previous["exited_on"]).dt.days
    cooling = previous["exited_on"].notna() & ((since_close < segment.cooldown_days) | (since_close == 0))
    cooling &= ~suppressed
    admitted = candidates[~(suppressed | cooling).to_numpy()]

    control = in_control(segment.name, segment.holdout_salt, admitted, segment.holdout_percent)
    entered = pd.DataFrame(
        {"key": admitted.astype(str), "group": np.where(control, CONTROL, TREATMENT), "entered_on": day}
    )
    exited = pd.DataFrame(
        {
            "key": latest.index[closing],
            "entered_on": latest.loc[closing, "entered_on"].to_numpy(),
            "exit_reason": np.where(leaves_converted[closing], "converted", "left"),
        }
    )
    converted = pd.DataFrame(
        {"key": latest.index[converts], "entered_on": latest.loc[converts, "entered_on"].to_numpy()}
    )
    # Keys absent from today's frame keep their open stints: absence is not an exit.
    untouched = latest_of_all[latest_of_all["exited_on"].isna() & ~latest_of_all.index.isin(keys)]
    members = pd.concat(
        [
            untouched.reset_index()[["key", "group", "entered_on"]],
            still_open.reset_index()[["key", "group", "entered_on"]],
            entered,
        ],
        ignore_index=True,
    )
    return SegmentChange(
        segment=segment.name,
        entered=entered,
        exited=exited,
        converted=converted,
        members=members,
        held_by_cooldown=int(cooling.sum()),
        suppressed=int(suppressed.sum()),
    )
