"""Invalid plays files are rejected whole, each problem naming the file, segment, field and what is valid."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from assets.plays.load import (
    DEFAULT_PLAYS_FILE,
    PLAYS_ENV,
    PlaysFileError,
    configured_plays,
    forget_parsed_plays,
    load_plays,
    plays_file_parses,
    plays_path,
)
from assets.plays.model import AllOf, Comparison, NotOf

BASE: dict[str, Any] = {
    "name": "power_users",
    "title": "Power users",
    "model": "contact",
    "when": {
        "all": [
            {"attribute": "plan", "op": "eq", "value": "free"},
            {"attribute": "reports_created", "op": "gt", "value": 8},
        ]
    },
}
SEG = "segment 'power_users'"


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "plays.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PlaysFileError) as caught:
        load_plays(path)
    assert str(path) in str(caught.value) and "nothing was applied" in str(caught.value)
    return caught.value.problems


def segment(**changes: Any) -> dict[str, Any]:
    seg = copy.deepcopy(BASE)
    seg.update(changes)
    return {k: v for k, v in seg.items() if v is not None}


INVALID_SEGMENTS = [
    (
        {"when": {"attribute": "reports_create", "op": "gt", "value": 8}},
        f"{SEG}, field 'when.attribute': unknown contact attribute 'reports_create' (did you mean reports_created, "
        "reports_created_30d, projects_created?); see the README attribute table",
    ),
    (
        {"when": {"attribute": "company.account_seats", "op": "lt", "value": 10}},
        f"{SEG}, field 'when.attribute': unknown company attribute 'account_seats' (did you mean account_seat_count, "
        "account_arr, account_user_count?); see the README attribute table",
    ),
    (
        {"when": {"all": [{"attribute": "plan", "op": "gt", "value": "free"}]}},
        f"{SEG}, field 'when.all[0].op': 'gt' does not apply to 'plan' (string); "
        "valid: eq, ne, in, not_in, is_set, is_not_set",
    ),
    (
        {"when": {"attribute": "plan", "op": "equals", "value": "free"}},
        f"{SEG}, field 'when.op': unknown operator 'equals'; valid: eq, ne, gt, gte, lt, lte, in, not_in, is_set, "
        "is_not_set",
    ),
    (
        {"when": {"attribute": "reports_created", "op": "gt", "value": "eight"}},
        f"{SEG}, field 'when.value': 'eight' is not a whole number, which 'reports_created' (integer) needs",
    ),
    (
        {"when": {"attribute": "cancel_at_period_end", "op": "eq", "value": "yes"}},
        f"{SEG}, field 'when.value': 'yes' is not true or false, which 'cancel_at_period_end' (boolean) needs",
    ),
    (
        {"when": {"attribute": "plan", "op": "in", "value": "free"}},
        f"{SEG}, field 'when.value': in needs a non-empty list of values, each a string (got 'free')",
    ),
    (
        {"when": {"attribute": "plan", "op": "is_set", "value": "x"}},
        f"{SEG}, field 'when.value': is_set takes no value (got 'x'); remove it",
    ),
    (
        {"when": {"attribute": "plan", "op": "eq"}},
        f"{SEG}, field 'when.value': is required for eq: a string",
    ),
    (
        {"holdout_percent": 60},
        f"{SEG}, field 'holdout_percent': Input should be less than or equal to 50 (got 60)",
    ),
    (
        {"name": "stripe_plan_fans"},
        "segment 'stripe_plan_fans', field 'name': names starting with 'stripe_' are reserved by Intercom's Stripe "
        "app; choose another name",
    ),
    (
        {"name": "mrr"},
        "segment 'mrr', field 'name': 'mrr' is already a revsync attribute or field (README attribute table); "
        "choose another name",
    ),
    (
        {"name": "PowerUsers"},
        "segment 'PowerUsers', field 'name': 'PowerUsers' is not a valid name; use snake_case (lower-case letters, "
        "digits and _, starting with a letter, at most 60 characters)",
    ),
    (
        {"holdout": 10},
        f"{SEG}, field 'holdout': unknown field (did you mean holdout_salt, holdout_percent?); valid fields: "
        "cooldown_days, description, goal, goal_window_days, holdout_percent, holdout_salt, model, name, "
        "suppress_after_goal, title, when",
    ),
    (
        {"model": "account"},
        f"{SEG}, field 'model': Input should be 'contact' or 'company' (got 'account')",
    ),
    (
        {"model": "company", "when": {"attribute": "company.account_mrr", "op": "gt", "value": 1}},
        f"{SEG}, field 'when.attribute': 'company.account_mrr': a company segment reads its own attributes; "
        "write 'account_mrr'",
    ),
    (
        {"when": {"all": []}},
        f"{SEG}, field 'when': all: needs a non-empty list of conditions (got [])",
    ),
    (
        {"when": {"not": {"attribute": "plan", "op": "eq", "value": "free"}, "any": []}},
        f"{SEG}, field 'when': any: must be the only key here (got ['any', 'not'])",
    ),
    (
        {"when": {"attribute": "trial_end_at", "op": "lt", "value": "soon"}},
        f"{SEG}, field 'when.value': 'soon' is not a date (YYYY-MM-DD), which 'trial_end_at' (date) needs",
    ),
    (
        {"title": None},
        f"{SEG}, field 'title': is required",
    ),
    (
        {"goal": {"attribute": "plan", "op": "eq", "value": 3}},
        f"{SEG}, field 'goal.value': 3 is not a string, which 'plan' (string) needs",
    ),
    (
        {"when": {"atribute": "plan", "op": "eq", "value": "free"}},
        f"{SEG}, field 'when': not a condition (keys ['atribute', 'op', 'value']); use {{attribute, op, value}} "
        "or one of all:, any:, not:",
    ),
]


@pytest.mark.parametrize(
    ("changes", "message"), INVALID_SEGMENTS, ids=[m.split(":")[1][:40] for _, m in INVALID_SEGMENTS]
)
def test_an_invalid_segment_is_rejected_with_an_actionable_message(tmp_path, changes, message):
    path = write(tmp_path, {"segments": [segment(**changes)]})
    assert problems(path) == [f"{path}: {message}"]


def test_duplicate_segment_names(tmp_path):
    path = write(tmp_path, {"segments": [BASE, BASE]})
    assert problems(path) == [f"{path}: {SEG}, field 'name': duplicate segment name; each segment needs its own name"]


def test_a_name_clashing_with_another_segments_attribute(tmp_path):
    path = write(tmp_path, {"segments": [segment(name="trial"), segment(name="trial_control")]})
    assert problems(path) == [
        f"{path}: segment 'trial_control', field 'name': 'trial_control' is also an attribute of segment 'trial'; "
        "choose another name"
    ]


def test_the_attribute_budget(tmp_path):
    path = write(tmp_path, {"segments": [segment(name=f"play_{i}") for i in range(80)]})
    assert problems(path) == [
        f"{path}: field 'segments': 80 segments need 280 custom attributes in all (3 per segment); Intercom allows "
        "250, so at most 70 segments fit"
    ]


def test_tiers_and_threshold(tmp_path):
    path = write(
        tmp_path,
        {"tiers": [{"name": "a", "min_mrr": 0}, {"name": "a", "min_mrr": 0}], "acv_route_threshold": -1},
    )
    assert problems(path) == [f"{path}: field 'acv_route_threshold': Input should be greater than 0 (got -1)"]
    path = write(tmp_path, {"tiers": [{"name": "a", "min_mrr": 0}, {"name": "a", "min_mrr": 0}]})
    assert problems(path) == [
        f"{path}: field 'tiers[1].name': duplicate tier name 'a'; names must be unique",
        f"{path}: field 'tiers[1].min_mrr': another tier already starts at 0; each tier needs its own min_mrr",
    ]


def test_unknown_top_level_field_and_bad_yaml(tmp_path):
    path = write(tmp_path, {"segment": []})
    assert problems(path) == [
        f"{path}: field 'segment': unknown field (did you mean segments?); valid fields: acv_route_threshold, "
        "segments, tiers"
    ]
    path.write_text("segments: [\n  {name: x")
    assert problems(path) == [
        f"{path}: not valid YAML at line 2, column 11: expected ',' or '}}', but got '<stream end>'"
    ]


def test_every_problem_is_reported_at_once(tmp_path):
    unknown = segment(when={"attribute": "nope", "op": "gt", "value": 1})
    wrong_op = segment(name="other", goal={"attribute": "plan", "op": "lt", "value": "x"})
    path = write(tmp_path, {"segments": [unknown, wrong_op]})
    assert problems(path) == [
        f"{path}: {SEG}, field 'when.attribute': unknown contact attribute 'nope'; see the README attribute table",
        f"{path}: segment 'other', field 'goal.op': 'lt' does not apply to 'plan' (string); "
        "valid: eq, ne, in, not_in, is_set, is_not_set",
    ]


def test_a_missing_file_names_the_setting(tmp_path):
    path = tmp_path / "nowhere.yaml"
    assert problems(path) == [f"{path}: no such file (set {PLAYS_ENV} to the plays file's path)"]


def test_path_from_setting_then_environment_then_default(tmp_path, monkeypatch):
    monkeypatch.delenv(PLAYS_ENV, raising=False)
    assert plays_path("") == DEFAULT_PLAYS_FILE
    monkeypatch.setenv(PLAYS_ENV, str(tmp_path / "env.yaml"))
    assert plays_path("") == tmp_path / "env.yaml"
    assert plays_path("/x/configured.yaml") == Path("/x/configured.yaml")


def test_a_valid_file_parses_into_the_condition_tree(tmp_path):
    when = {"any": [{"not": {"attribute": "plan", "op": "in", "value": ["pro", "team"]}},
                    {"attribute": "trial_end_at", "op": "lt", "value": "2026-12-01"},
                    {"attribute": "company.value_tier", "op": "is_set"}]}  # fmt: skip
    path = write(tmp_path, {"segments": [segment(when=when, holdout_percent=12.5)]})
    plays = load_plays(path)
    parsed = plays.segments[0]
    assert parsed.holdout_percent == 12.5 and parsed.cooldown_days == 14 and parsed.suppress_after_goal
    assert parsed.when.items[0] == NotOf(Comparison("plan", "in", ("pro", "team")))  # type: ignore[union-attr]
    assert parsed.when.items[1] == Comparison("trial_end_at", "lt", int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()))  # type: ignore[union-attr]
    assert isinstance(parsed.when, AllOf) is False
    assert plays.acv_route_threshold == 5000


def test_the_shipped_plays_file_is_valid():
    plays = load_plays(DEFAULT_PLAYS_FILE)
    assert [s.name for s in plays.segments] == ["ready_for_pro_upgrade", "team_expansion_candidate"]
    assert [t.name for t in plays.tiers] == ["low_value", "mid_value", "high_value"]


def test_configured_plays_parses_each_version_of_the_file_once(tmp_path):
    path = write(tmp_path, {"segments": [segment()]})
    forget_parsed_plays()
    before = plays_file_parses()
    first = configured_plays(str(path), None)
    assert configured_plays(str(path), {"reports_created": "report_created"}) is not first  # other metrics
    assert configured_plays(str(path), None) is first
    assert plays_file_parses() - before == 1

    edited = {"segments": [segment(), segment(name="second_segment", title="Second")]}
    path.write_text(yaml.safe_dump(edited))  # a longer file: another version, read afresh
    assert [s.name for s in configured_plays(str(path), None).segments] == ["power_users", "second_segment"]
    assert plays_file_parses() - before == 2


def test_a_cached_file_that_becomes_invalid_is_rejected(tmp_path):
    path = write(tmp_path, {"segments": [segment()]})
    configured_plays(str(path), None)
    path.write_text("segments: [")
    with pytest.raises(PlaysFileError, match="not valid YAML"):
        configured_plays(str(path), None)
