import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.attributes.segments import PLAYBOOK_SEGMENTS, Condition, SegmentRule, evaluate_segments


def contact(**overrides):
    base = {
        "plan": "free",
        "reports_created": 9,
        "account_age_days": 15,
        "users_invited": 0,
        "seat_count": None,
    }
    return {**base, **overrides}


def members(*rows):
    return evaluate_segments(pd.DataFrame(rows))


@pytest.mark.parametrize(
    ("reports", "age", "plan", "expected"),
    [
        (8, 15, "free", False),  # 8 reports is not more than 8
        (9, 15, "free", True),  # 9 > 8 and 15 > 14
        (9, 14, "free", False),  # 14 days is not more than 14
        (9, 15, "starter", False),  # not on the free plan
        (100, 400, "free", True),
    ],
)
def test_ready_for_pro_upgrade_boundaries(reports, age, plan, expected):
    result = members(contact(reports_created=reports, account_age_days=age, plan=plan))
    assert bool(result["ready_for_pro_upgrade"].iloc[0]) is expected


@pytest.mark.parametrize(
    ("invites", "seats", "plan", "expected"),
    [
        (3, 5, "starter", False),  # 3 invites is not more than 3
        (4, 5, "starter", True),
        (4, 9, "starter", True),  # 9 seats is under 10
        (4, 10, "starter", False),  # 10 seats is not under 10
        (4, 5, "pro", False),
    ],
)
def test_team_expansion_candidate_boundaries(invites, seats, plan, expected):
    result = members(contact(plan=plan, users_invited=invites, seat_count=seats))
    assert bool(result["team_expansion_candidate"].iloc[0]) is expected


def test_missing_values_never_qualify():
    result = members(contact(plan="starter", users_invited=5, seat_count=None))
    assert not result["team_expansion_candidate"].iloc[0]
    result = members(contact(plan=None))
    assert not result["ready_for_pro_upgrade"].iloc[0]


def test_unknown_attribute_names_the_segment_and_attribute():
    rule = SegmentRule("x", "X", (Condition("nope", ">", 1),))
    with pytest.raises(KeyError, match="'x' needs attribute 'nope'"):
        evaluate_segments(pd.DataFrame([contact()]), [rule])


def test_unknown_operator_is_rejected():
    with pytest.raises(ValueError, match="unknown operator"):
        Condition("plan", "~", "free")


def test_rules_describe_themselves():
    assert PLAYBOOK_SEGMENTS[0].describe() == "plan == 'free' and reports_created > 8 and account_age_days > 14"


@given(st.integers(0, 50), st.integers(0, 60), st.sampled_from(["free", "starter", "pro", None]))
def test_vectorised_matches_the_rule_per_row(reports, age, plan):
    row = contact(reports_created=reports, account_age_days=age, plan=plan)
    expected = plan == "free" and reports > 8 and age > 14
    assert bool(members(row)["ready_for_pro_upgrade"].iloc[0]) is expected
