"""The shipped plays.yaml: the playbook's two segments at their old boundaries, tiers and ACV routing,
company segments and `company.` references, and the condition language itself."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.plays.conditions import evaluate, with_company_columns
from assets.plays.load import DEFAULT_PLAYS_FILE, load_plays, parse_plays
from assets.plays.model import Comparison, NotOf
from assets.plays.tiers import tier_columns
from assets.plays.update import evaluation_frames

PLAYS = load_plays(DEFAULT_PLAYS_FILE)


def contact(**overrides):
    base = {"external_id": "u1", "company_id": "a1", "plan": "free", "reports_created": 9, "account_age_days": 15,
            "users_invited": 0}  # fmt: skip
    return {**base, **overrides}


def company(**overrides):
    return {"company_id": "a1", "account_seat_count": None, "account_reporting_mrr": 0.0, **overrides}


def member(segment: str, contact_row: dict, company_row: dict | None = None) -> bool:
    frames = evaluation_frames(pd.DataFrame([contact_row]), pd.DataFrame([company_row or company()]), PLAYS)
    return bool(evaluate(PLAYS.segment(segment).when, frames["contact"]).iloc[0])


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
    assert (
        member("ready_for_pro_upgrade", contact(reports_created=reports, account_age_days=age, plan=plan)) is expected
    )


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
def test_team_expansion_candidate_boundaries_read_the_companys_seats(invites, seats, plan, expected):
    row = contact(plan=plan, users_invited=invites)
    assert member("team_expansion_candidate", row, company(account_seat_count=seats)) is expected


def test_missing_values_never_qualify():
    assert not member("team_expansion_candidate", contact(plan="starter", users_invited=5), company())
    assert not member("ready_for_pro_upgrade", contact(plan=None))
    # A contact whose company is unknown has no company.* values.
    assert not member("team_expansion_candidate", contact(plan="starter", users_invited=5, company_id="zz"),
                      company(account_seat_count=2))  # fmt: skip


@given(st.integers(0, 50), st.integers(0, 60), st.sampled_from(["free", "starter", "pro", None]))
def test_vectorised_matches_the_rule_per_row(reports, age, plan):
    expected = plan == "free" and reports > 8 and age > 14
    assert (
        member("ready_for_pro_upgrade", contact(reports_created=reports, account_age_days=age, plan=plan)) is expected
    )


@pytest.mark.parametrize(
    ("mrr", "tier", "acv", "route"),
    [
        (0.0, "low_value", 0.0, False),
        (99.99, "low_value", 1199.88, False),
        (100.0, "mid_value", 1200.0, False),
        (416.66, "mid_value", 4999.92, False),  # just under the 5,000 ACV threshold
        (416.67, "mid_value", 5000.04, True),
        (499.999, "mid_value", 5999.99, True),
        (500.0, "high_value", 6000.0, True),  # high_value from 500/mo
        (None, None, None, None),  # no exchange rate: no tier, no ACV, no routing
    ],
)
def test_tiers_and_acv_routing_at_their_boundaries(mrr, tier, acv, route):
    got = tier_columns(pd.DataFrame([company(account_reporting_mrr=mrr)]), PLAYS).iloc[0]
    assert (None if pd.isna(got["value_tier"]) else got["value_tier"]) == tier
    assert (None if pd.isna(got["acv"]) else float(got["acv"])) == acv
    assert (None if pd.isna(got["route_to_sales"]) else bool(got["route_to_sales"])) is route


def test_below_the_lowest_tier_there_is_no_tier():
    plays = parse_plays({"tiers": [{"name": "high_value", "min_mrr": 500}], "acv_route_threshold": 100}, "t.yaml")
    got = tier_columns(pd.DataFrame([company(account_reporting_mrr=10.0)]), plays).iloc[0]
    assert pd.isna(got["value_tier"]) and bool(got["route_to_sales"]) is True  # 120 >= 100


def test_a_company_segment_and_contacts_reading_the_companys_tier():
    plays = parse_plays(
        {
            "segments": [
                {"name": "big_accounts", "title": "Big", "model": "company",
                 "when": {"all": [{"attribute": "value_tier", "op": "eq", "value": "high_value"},
                                  {"attribute": "account_user_count", "op": "gte", "value": 2}]}},
                {"name": "admins_of_big", "title": "Admins", "model": "contact",
                 "when": {"attribute": "company.route_to_sales", "op": "eq", "value": True}},
            ],
            "tiers": [{"name": "high_value", "min_mrr": 500}],
        },
        "t.yaml",
    )  # fmt: skip
    companies = pd.DataFrame(
        [
            company(company_id="a1", account_reporting_mrr=600.0, account_user_count=2),
            company(company_id="a2", account_reporting_mrr=600.0, account_user_count=1),
            company(company_id="a3", account_reporting_mrr=50.0, account_user_count=9),
        ]
    )
    contacts = pd.DataFrame([contact(external_id="u1", company_id="a1"), contact(external_id="u3", company_id="a3")])
    frames = evaluation_frames(contacts, companies, plays)
    assert evaluate(plays.segment("big_accounts").when, frames["company"]).tolist() == [True, False, False]
    assert evaluate(plays.segment("admins_of_big").when, frames["contact"]).tolist() == [True, False]


def test_every_operator_and_missing_values():
    frame = pd.DataFrame({"n": pd.array([1, 5, None], dtype="Int64"), "s": pd.array(["a", "b", None], dtype="string")})

    def rows(attribute, op, value=None):
        return evaluate(Comparison(attribute, op, value), frame).tolist()

    assert rows("n", "eq", 5) == [False, True, False]
    assert rows("n", "ne", 5) == [True, False, False]  # missing never satisfies, not even `ne`
    assert rows("n", "gt", 1) == [False, True, False]
    assert rows("n", "gte", 1) == [True, True, False]
    assert rows("n", "lt", 5) == [True, False, False]
    assert rows("n", "lte", 5) == [True, True, False]
    assert rows("s", "in", ("a", "z")) == [True, False, False]
    assert rows("s", "not_in", ("a",)) == [False, True, False]
    assert rows("s", "is_set") == [True, True, False]
    assert rows("s", "is_not_set") == [False, False, True]
    assert evaluate(NotOf(Comparison("s", "eq", "a")), frame).tolist() == [False, True, True]


def test_company_columns_are_looked_up_by_company_id():
    contacts = pd.DataFrame({"external_id": ["u1", "u2"], "company_id": ["a2", None]})
    companies = pd.DataFrame({"company_id": ["a1", "a2"], "account_mrr": [1.0, 2.0]})
    joined = with_company_columns(contacts, companies)
    assert joined["company.account_mrr"].tolist()[0] == 2.0 and pd.isna(joined["company.account_mrr"].iloc[1])
