"""Lift, interval and p-value on known counts, checked against statsmodels and by hand."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from assets.plays.lift import measure_lift, needed_per_group


def test_known_counts_match_the_library_and_the_arithmetic():
    # Treatment 120/400 = 30 %, control 30/200 = 15 %: 15 points of lift, relative +100 %.
    lift = measure_lift(400, 120, 200, 30)
    assert lift.treatment_rate == pytest.approx(0.30) and lift.control_rate == pytest.approx(0.15)
    assert lift.lift_pct_points == 15.0 and lift.relative_lift == 1.0
    _, p = proportions_ztest([120, 30], [400, 200])
    low, high = confint_proportions_2indep(120, 400, 30, 200, method="wald", compare="diff")
    assert lift.p_value == pytest.approx(p, abs=1e-6)
    assert lift.ci95 == (round(low * 100, 2), round(high * 100, 2))
    # Wald by hand: 0.15 ± 1.96 * sqrt(.3*.7/400 + .15*.85/200) = 0.15 ± 1.96 * 0.034095 = 0.15 ± 0.0668
    assert lift.ci95 == pytest.approx((8.32, 21.68), abs=0.01)
    assert p < 0.001 and lift.verdict == "lift"


def test_a_small_difference_on_few_members_says_how_many_are_needed():
    lift = measure_lift(40, 10, 10, 2)
    need = needed_per_group(0.2)
    assert 900 < need < 1200  # 20 % -> 25 % at 80 % power needs about 1,100 per group
    assert lift.verdict == f"too few members: need ≈ {need} per group for a 5-point effect"
    assert lift.p_value is not None and lift.p_value > 0.05


def test_no_detectable_difference_on_large_equal_groups():
    assert measure_lift(5000, 1000, 5000, 1010).verdict == "no detectable difference"


def test_treatment_worse_than_control_is_said_plainly():
    lift = measure_lift(1000, 100, 1000, 200)
    assert lift.lift_pct_points == -10.0
    assert lift.verdict == "negative lift: treatment converts less than control"


def test_an_empty_group_has_no_statistics():
    lift = measure_lift(30, 3, 0, 0)
    assert lift.p_value is None and lift.ci95 is None and lift.lift_pct_points is None
    assert lift.verdict.startswith("too few members: need ≈ ")


def test_nobody_converted_gives_no_difference_not_an_error():
    lift = measure_lift(3000, 0, 3000, 0)
    assert lift.lift_pct_points == 0.0 and lift.p_value == 1.0
