"""The demo's earlier run and the weeks after it, so `make demo` can measure a play's lift.

revsync is taken to have run `EARLIER_RUN_DAYS` (28) days before the world's `as_of` with the
shipped playbook segments: a cohort of the world's users entered each segment then, split into
treatment and holdout by the plays' own hash. In the weeks after, **treatment members converted
with probability `TREATMENT_RATE` (30 %) and holdout members with `CONTROL_RATE` (15 %)** — the
seeded, documented effect of the simulated messaging (seed: the world's). The cohort is drawn so
the story matches today's world: converters are users whose account meets the goal today (on pro;
10 or more seats), the others are users still on the segment's plan. A converter's stint closed
the day it converted; the others left on a random day 15 to 27 days ago, so their cooldown is over
and today's rules alone decide whether they are members again.

The stints are written with `MembershipHistory.add_stints` (insert if absent): a second `make
demo` adds nothing. Segments not in this table (a custom plays file) get no simulated past.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from assets.plays.history import MembershipHistory
from assets.plays.holdout import in_control
from assets.plays.membership import CONTROL, TREATMENT
from assets.plays.model import Plays
from emulators.demo_world.randomness import generator
from emulators.demo_world.world import DemoWorld

EARLIER_RUN_DAYS = 28
TREATMENT_RATE = 0.30
CONTROL_RATE = 0.15
STREAM_PLAYS = 4  # after accounts, users and events (randomness.py)

AccountFilter = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class SimulatedPlay:
    converted: AccountFilter  # accounts whose users met the goal in the weeks after the earlier run
    not_converted: AccountFilter  # accounts whose users stayed where the segment found them


def _paying(accounts: pd.DataFrame) -> pd.Series:
    # Active only: a trial counts toward no MRR, so its contacts still show plan `free` today.
    return accounts["status"] == "active"


SIMULATED: dict[str, SimulatedPlay] = {
    "ready_for_pro_upgrade": SimulatedPlay(
        converted=lambda a: (a["plan"] == "pro") & _paying(a),
        not_converted=lambda a: a["plan"] == "free",
    ),
    "team_expansion_candidate": SimulatedPlay(
        converted=lambda a: (a["plan"] != "free") & (a["seats"] >= 10) & _paying(a),
        not_converted=lambda a: (a["plan"] == "starter") & (a["seats"] < 10),
    ),
}


def _users_of(world: DemoWorld, users: pd.DataFrame, accounts: pd.Series) -> np.ndarray:
    chosen = set(world.accounts.loc[accounts.to_numpy(), "account_id"])
    return users.loc[users["account_id"].isin(chosen), "user_id"].astype(str).to_numpy()


def earlier_run_stints(world: DemoWorld, plays: Plays) -> list[dict[str, Any]]:
    """The simulated stints of every shipped contact segment with a holdout."""
    users = world.users_frame()
    entered = world.as_of.date() - timedelta(days=EARLIER_RUN_DAYS)
    rows: list[dict[str, Any]] = []
    for number, segment in enumerate(plays.segments):
        play = SIMULATED.get(segment.name)
        if play is None or segment.model != "contact" or segment.holdout_percent <= 0:
            continue
        rng = generator(world.seed, STREAM_PLAYS, number)
        pools = {
            True: rng.permutation(_users_of(world, users, play.converted(world.accounts))),
            False: rng.permutation(_users_of(world, users, play.not_converted(world.accounts))),
        }
        for group, rate in ((TREATMENT, TREATMENT_RATE), (CONTROL, CONTROL_RATE)):
            in_group = {
                converts: keys[
                    in_control(segment.name, segment.holdout_salt, keys, segment.holdout_percent) == (group == CONTROL)
                ]
                for converts, keys in pools.items()
            }
            rows += _group_stints(segment.name, group, rate, in_group, entered, rng)
    return rows


def _group_stints(
    segment: str, group: str, rate: float, pools: dict[bool, np.ndarray], entered: date, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """As many members as both pools can serve with room to spare, each converting with `rate`."""
    size = int(0.9 * min(len(pools[False]) / (1 - rate), len(pools[True]) / rate))
    converts = rng.random(size) < rate
    taken = {True: 0, False: 0}
    rows: list[dict[str, Any]] = []
    for outcome in converts.tolist():
        if taken[outcome] >= len(pools[outcome]):  # an unlucky run of draws: the pool is used up
            continue
        key = str(pools[outcome][taken[outcome]])
        taken[outcome] += 1
        if outcome:
            closed = entered + timedelta(days=int(rng.integers(1, EARLIER_RUN_DAYS)))
            rows.append(_stint(segment, key, entered, group, closed, closed, "converted"))
        else:
            closed = entered + timedelta(days=int(rng.integers(1, EARLIER_RUN_DAYS - 14)))
            rows.append(_stint(segment, key, entered, group, closed, None, "left"))
    return rows


def _stint(
    segment: str, key: str, entered: date, group: str, exited: date, converted: date | None, reason: str
) -> dict[str, Any]:
    return {"segment": segment, "key": key, "entered_on": entered, "group": group, "exited_on": exited,
            "converted_on": converted, "exit_reason": reason}  # fmt: skip


def simulate_earlier_run(world: DemoWorld, history: MembershipHistory, plays: Plays) -> int:
    """Store the simulated past (insert if absent); returns how many stints it holds."""
    rows = earlier_run_stints(world, plays)
    history.add_stints(rows)
    return len(rows)
