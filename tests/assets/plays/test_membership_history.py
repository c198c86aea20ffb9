"""Membership over simulated days, recorded in the real state store (SQLite and PostgreSQL):
entry, exit, conversion, cooldown, goal suppression, idempotent re-runs and the daily size record."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from assets.plays.history import MembershipHistory
from assets.plays.load import parse_plays
from assets.plays.update import MembershipUpdate, evaluation_frames, plan_plays
from resources.state.store import StateStore

DAY0 = date(2026, 10, 1)
PLAYS = parse_plays(
    {
        "segments": [
            {
                "name": "heavy_free_users",
                "title": "Heavy free users",
                "when": {"all": [{"attribute": "plan", "op": "eq", "value": "free"},
                                 {"attribute": "reports_created", "op": "gt", "value": 8}]},
                "goal": {"attribute": "plan", "op": "eq", "value": "pro"},
                "goal_window_days": 30,
                "cooldown_days": 14,
            }
        ]
    },
    "test.yaml",
)  # fmt: skip
COMPANIES = pd.DataFrame({"company_id": pd.Series(dtype=str), "account_reporting_mrr": pd.Series(dtype=float)})


def user(key: str, plan: str = "free", reports: int = 9) -> dict:
    return {"external_id": key, "company_id": None, "plan": plan, "reports_created": reports}


@pytest.fixture
def history(warehouse_url) -> MembershipHistory:
    store = StateStore(warehouse_url)
    store.create_all()
    return MembershipHistory(store)


def run_day(history: MembershipHistory, day: int, users: list[dict]) -> MembershipUpdate:
    frames = evaluation_frames(pd.DataFrame(users), COMPANIES, PLAYS)
    update = plan_plays(PLAYS, frames, history.load_stints(["heavy_free_users"]), DAY0 + timedelta(days=day))
    history.record(update.changes, update.day)
    return update


def members(update: MembershipUpdate) -> set[str]:
    return set(update.change("heavy_free_users").members["key"])


def test_entry_exit_conversion_cooldown_and_suppression_over_days(history):
    day0 = run_day(history, 0, [user("u1"), user("u2"), user("u3"), user("u4"), user("u5", reports=2)])
    assert members(day0) == {"u1", "u2", "u3", "u4"}

    # u1 drops below the rule (leaves), u2 upgrades (converts and leaves), u3 leaves too.
    day1_users = [user("u1", reports=3), user("u2", plan="pro"), user("u3", reports=0), user("u4")]
    day1 = run_day(history, 1, day1_users)
    change = day1.change("heavy_free_users")
    assert members(day1) == {"u4"}
    assert dict(zip(change.exited["key"], change.exited["exit_reason"], strict=True)) == {
        "u1": "left", "u2": "converted", "u3": "left"}  # fmt: skip
    assert list(change.converted["key"]) == ["u2"]

    # The same day again records nothing new.
    again = run_day(history, 1, day1_users).change("heavy_free_users")
    assert (len(again.entered), len(again.exited), len(again.converted)) == (0, 0, 0)

    # Day 5: u1 qualifies again but is cooling down; u2 is back on free but suppressed after its goal.
    day5 = run_day(history, 5, [user("u1"), user("u2"), user("u3"), user("u4")])
    assert members(day5) == {"u4"}
    assert day5.change("heavy_free_users").sizes()["held_by_cooldown"] == 2  # u1 and u3
    assert day5.change("heavy_free_users").sizes()["suppressed"] == 1  # u2

    # Day 14: 13 days since u1 left — still cooling. u3 converts after leaving, within the goal window.
    day14 = run_day(history, 14, [user("u1"), user("u3", plan="pro"), user("u4")])
    assert members(day14) == {"u4"} and list(day14.change("heavy_free_users").converted["key"]) == ["u3"]

    # Day 15: 14 days since u1 left: re-admitted. u4 is absent today (held back): it stays a member.
    day15 = run_day(history, 15, [user("u1"), user("u2"), user("u3")])
    assert members(day15) == {"u1", "u4"}
    entered_at = day15.columns["contact"].set_index("external_id")["heavy_free_users_entered_at"]
    assert entered_at["u1"] == pd.Timestamp(DAY0 + timedelta(days=15)).timestamp()

    stints = history.load_stints(["heavy_free_users"]).sort_values(["key", "entered_on"])
    u1 = stints[stints["key"] == "u1"]
    assert [d.date() for d in u1["entered_on"]] == [DAY0, DAY0 + timedelta(days=15)]
    u3 = stints[stints["key"] == "u3"].iloc[0]
    assert (u3["exited_on"].date(), u3["converted_on"].date(), u3["exit_reason"]) == (
        DAY0 + timedelta(days=1), DAY0 + timedelta(days=14), "left")  # fmt: skip

    daily = history.daily_sizes("heavy_free_users").set_index("day")
    assert daily.loc[DAY0 + timedelta(days=1)].tolist()[1:] == [1, 1, 0, 0, 3, 1]
    assert daily.loc[DAY0 + timedelta(days=15)].tolist()[1:] == [2, 2, 0, 1, 0, 0]


def test_a_conversion_outside_the_goal_window_is_not_a_conversion(history):
    run_day(history, 0, [user("u1")])
    late = run_day(history, 31, [user("u1", plan="pro")]).change("heavy_free_users")
    assert list(late.exited["exit_reason"]) == ["left"] and late.converted.empty


def test_a_key_already_meeting_the_goal_is_not_admitted(history):
    plays = parse_plays(
        {"segments": [{"name": "s", "title": "S", "when": {"attribute": "reports_created", "op": "gt", "value": 8},
                       "goal": {"attribute": "plan", "op": "eq", "value": "pro"}}]}, "t.yaml")  # fmt: skip
    frames = evaluation_frames(pd.DataFrame([user("u1", plan="pro"), user("u2")]), COMPANIES, plays)
    update = plan_plays(plays, frames, history.load_stints(["s"]), DAY0)
    assert set(update.change("s").entered["key"]) == {"u2"}


def test_holdout_members_are_control_not_treatment_in_the_attributes(history):
    plays = parse_plays(
        {"segments": [{"name": "s", "title": "S", "holdout_percent": 50,
                       "when": {"attribute": "reports_created", "op": "gt", "value": 8}}]}, "t.yaml")  # fmt: skip
    users = [user(f"u{i}") for i in range(400)] + [user("out", reports=0)]
    update = plan_plays(
        plays, evaluation_frames(pd.DataFrame(users), COMPANIES, plays), history.load_stints(["s"]), DAY0
    )
    columns = update.columns["contact"].set_index("external_id")
    assert not (columns["s"] & columns["s_control"]).any()
    assert 150 < columns["s_control"].sum() < 250 and columns["s"].sum() + columns["s_control"].sum() == 400
    assert not columns.loc["out", "s"] and not columns.loc["out", "s_control"]
    assert pd.isna(columns.loc["out", "s_entered_at"])


def test_a_failure_mid_record_leaves_nothing_half_written(history):
    update = plan_plays(PLAYS, evaluation_frames(pd.DataFrame([user("u1")]), COMPANIES, PLAYS),
                        history.load_stints(["heavy_free_users"]), DAY0)  # fmt: skip
    history.daily.drop(history.store.engine)  # the size record, written after the stints, now fails
    with pytest.raises(sa.exc.DBAPIError):
        history.record(update.changes, DAY0)
    with history.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(history.stints)).scalar_one() == 0
