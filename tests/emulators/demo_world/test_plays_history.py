"""The demo's simulated earlier run: the documented effect, the real holdout groups, nothing added twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from assets.plays.history import MembershipHistory
from assets.plays.holdout import in_control
from assets.plays.load import DEFAULT_PLAYS_FILE, load_plays
from emulators.demo_world.plays_history import CONTROL_RATE, EARLIER_RUN_DAYS, TREATMENT_RATE, simulate_earlier_run
from emulators.demo_world.world import build_world
from resources.state.store import StateStore

AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_the_simulated_cohort_carries_the_documented_effect_and_is_written_once(sqlite_url):
    world = build_world(3000, 7, as_of=AS_OF)
    plays = load_plays(DEFAULT_PLAYS_FILE)
    history = MembershipHistory(StateStore(sqlite_url))
    written = simulate_earlier_run(world, history, plays)
    assert simulate_earlier_run(world, history, plays) == written  # the same rows again ...
    stints = history.load_stints([s.name for s in plays.segments])
    assert len(stints) == written  # ... are not stored twice

    assert set(stints["entered_on"].dt.date) == {AS_OF.date() - timedelta(days=EARLIER_RUN_DAYS)}
    assert (stints["exited_on"].dt.date < AS_OF.date()).all()  # every simulated stint is over by today
    for segment in plays.segments:
        mine = stints[stints["segment"] == segment.name]
        control = in_control(segment.name, segment.holdout_salt, mine["key"], segment.holdout_percent)
        assert ((mine["group"] == "control").to_numpy() == control).all()
        rates = mine.assign(converted=mine["converted_on"].notna()).groupby("group")["converted"].agg(["mean", "size"])
        for group, rate in (("treatment", TREATMENT_RATE), ("control", CONTROL_RATE)):
            se = (rate * (1 - rate) / rates.loc[group, "size"]) ** 0.5
            assert abs(rates.loc[group, "mean"] - rate) < 3 * se, (segment.name, group, rates)

    # Converters are users whose account meets the goal today: pro accounts for Ready for Pro Upgrade.
    users = world.users_frame().set_index("user_id")
    plan = users["account_id"].map(world.accounts.set_index("account_id")["plan"])
    pro = stints[(stints["segment"] == "ready_for_pro_upgrade") & stints["converted_on"].notna()]
    assert set(plan.reindex(pro["key"])) == {"pro"}
    assert not pd.isna(pro["exited_on"]).any()
