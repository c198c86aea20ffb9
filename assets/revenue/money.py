"""Money in minor units, currency exponents and exact conversion to a reporting currency.

Amounts are integers in the currency's minor unit with a lower-case ISO code (docs/architecture.md).
Conversion is exact integer arithmetic, rounded half-even once; the scalar and the array paths share
one implementation so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

# Stripe's lists (https://docs.stripe.com/currencies#zero-decimal, #three-decimal).
ZERO_DECIMAL_CURRENCIES: frozenset[str] = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
THREE_DECIMAL_CURRENCIES: frozenset[str] = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# Beyond this the int64 products in `convert_minor_array` could overflow; Python ints take over.
_INT64_SAFE = 2**62


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point of the currency's major unit (jpy 0, usd 2, kwd 3)."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not self.currency or self.currency != self.currency.lower():
            raise ValueError(f"currency must be a lower-case ISO code, got {self.currency!r}")

    def major(self) -> Decimal:
        """The amount in major units (500 jpy -> 500, 1999 usd -> 19.99)."""
        return Decimal(self.amount_minor).scaleb(-currency_exponent(self.currency))


class MissingRateError(KeyError):
    """No exchange rate from a currency to the reporting currency."""

    def __init__(self, currency: str, reporting_currency: str) -> None:
        super().__init__(currency)
        self.currency = currency
        self.reporting_currency = reporting_currency

    def __str__(self) -> str:
        return f"no exchange rate from {self.currency!r} to {self.reporting_currency!r}"


def round_half_even(value: Decimal) -> int:
    """Round an exact minor-unit amount to an integer, ties to even (banker's rounding)."""
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def half_even_div(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """numerator / denominator rounded half-even, exactly, for int64 or Python-int object arrays."""
    quotient, remainder = numerator // denominator, numerator % denominator  # np.divmod rejects objects
    twice = 2 * remainder
    round_up = (twice > denominator) | ((twice == denominator) & (quotient % 2 == 1))
    return quotient + round_up


def has_rate(currency: str, reporting_currency: str, rates: Mapping[str, Decimal]) -> bool:
    return currency == reporting_currency or currency in rates


def convert_minor_array(
    amounts: np.ndarray, currency: str, reporting_currency: str, rates: Mapping[str, Decimal]
) -> np.ndarray:
    """Convert integer minor amounts of one currency to reporting-currency minor units.

    `rates[currency]` is the price of one major unit of `currency` in major units of the reporting
    currency (e.g. rates["eur"] = Decimal("1.08") with usd reporting).
    """
    if currency == reporting_currency:
        return np.asarray(amounts, dtype=np.int64)
    if currency not in rates:
        raise MissingRateError(currency, reporting_currency)
    rate_num, rate_den = Decimal(rates[currency]).as_integer_ratio()
    shift = currency_exponent(reporting_currency) - currency_exponent(currency)
    numerator_scale = rate_num * 10 ** max(shift, 0)
    denominator = rate_den * 10 ** max(-shift, 0)
    values = np.asarray(amounts, dtype=np.int64)
    largest = int(np.abs(values).max(initial=0))
    if largest * numerator_scale < _INT64_SAFE and denominator < _INT64_SAFE:
        return half_even_div(values * numerator_scale, denominator).astype(np.int64)
    exact = half_even_div(values.astype(object) * numerator_scale, denominator)
    return np.asarray(exact, dtype=object)


def convert(money: Money, reporting_currency: str, rates: Mapping[str, Decimal]) -> Money:
    """`money` in the reporting currency; raises MissingRateError when there is no rate."""
    converted = convert_minor_array(np.array([money.amount_minor]), money.currency, reporting_currency, rates)
    return Money(int(converted[0]), reporting_currency)


def parse_rates(rates: Mapping[str, object]) -> dict[str, Decimal]:
    """Normalise configured or warehouse rates: lower-case codes, exact Decimals from their text."""
    parsed: dict[str, Decimal] = {}
    for code, rate in rates.items():
        value = Decimal(str(rate))
        if not value.is_finite() or value <= 0:
            raise ValueError(f"exchange rate for {code!r} must be a positive number, got {rate!r}")
        parsed[str(code).strip().lower()] = value
    return parsed
