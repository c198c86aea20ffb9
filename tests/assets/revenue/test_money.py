"""Currency exponents and exact conversion to the reporting currency."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.revenue.money import (
    MissingRateError,
    Money,
    convert,
    convert_minor_array,
    currency_exponent,
    parse_rates,
    round_half_even,
)

RATES = parse_rates({"JPY": "0.0067", "eur": 1.08, "usd": "150.25", "kwd": "3.26"})


@pytest.mark.parametrize(("currency", "exponent"), [("jpy", 0), ("krw", 0), ("usd", 2), ("eur", 2), ("kwd", 3)])
def test_exponents(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("money", "target", "expected"),
    [
        (Money(1000, "jpy"), "usd", 670),  # 1000 yen x 0.0067 = 6.70 usd
        (Money(1999, "eur"), "usd", 2159),  # 19.99 x 1.08 = 21.5892 -> 21.59
        (Money(5, "eur"), "usd", 5),  # 0.05 x 1.08 = 0.054 -> 0.05
        (Money(12345, "usd"), "usd", 12345),  # same currency: unchanged
        (Money(1000, "kwd"), "usd", 326),  # 1.000 kwd x 3.26 = 3.26 usd
    ],
)
def test_convert(money: Money, target: str, expected: int) -> None:
    assert convert(money, target, RATES) == Money(expected, target)


def test_convert_to_zero_and_three_decimal_targets() -> None:
    # 123.45 usd x 150.25 jpy/usd = 18548.3625 -> 18548 yen
    assert convert(Money(12345, "usd"), "jpy", {"usd": Decimal("150.25")}) == Money(18548, "jpy")
    # 10.00 usd x 0.307 kwd/usd = 3.070 kwd = 3070 fils
    assert convert(Money(1000, "usd"), "kwd", {"usd": Decimal("0.307")}) == Money(3070, "kwd")


def test_ties_round_half_even() -> None:
    # 0.05 x 1.5 = 0.075 -> 0.08 (8 even); 0.15 x 1.5 = 0.225 -> 0.22 (22 even)
    assert convert_minor_array(np.array([5, 15]), "eur", "usd", {"eur": Decimal("1.5")}).tolist() == [8, 22]
    assert round_half_even(Decimal("2.5")) == 2 and round_half_even(Decimal("3.5")) == 4


def test_missing_rate_raises() -> None:
    with pytest.raises(MissingRateError, match="'chf' to 'usd'"):
        convert(Money(100, "chf"), "usd", RATES)


def test_lower_case_and_positive_rates() -> None:
    with pytest.raises(ValueError):
        Money(1, "USD")
    with pytest.raises(ValueError):
        parse_rates({"eur": 0})
    assert RATES["jpy"] == Decimal("0.0067")


@settings(max_examples=80, deadline=None)
@given(st.integers(-(10**15), 10**15), st.decimals(Decimal("0.0001"), 1000, places=6))
def test_array_path_equals_decimal_arithmetic(amount: int, rate: Decimal) -> None:
    """int64 and Python-int paths both give Decimal's half-even result (big amounts force the latter)."""
    expected = round_half_even(Decimal(amount) * rate)
    assert convert_minor_array(np.array([amount]), "eur", "usd", {"eur": rate}).tolist() == [expected]
    assert convert(Money(amount, "eur"), "usd", {"eur": rate}).amount_minor == expected
