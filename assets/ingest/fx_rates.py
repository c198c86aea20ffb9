"""Exchange rates for the reporting currency: configured ones, overridden by a warehouse table.

A rate is reporting-currency units per unit of the currency (eur=1.08 with usd reporting). A row
that is not a currency code with a positive number is reported with its currency and field and left
out; a currency without any rate becomes a per-record error where it is converted, never a 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pandas as pd

_CODE = re.compile(r"^[a-z]{3}$")


@dataclass(frozen=True)
class RateProblem:
    record: str
    field: str
    message: str


def parse_rate_rows(rows: pd.DataFrame) -> tuple[dict[str, str], list[RateProblem]]:
    """(currency -> rate as decimal text, problems) from a frame with `currency` and `rate` columns."""
    rates: dict[str, str] = {}
    problems: list[RateProblem] = []
    for currency, rate in zip(rows["currency"], rows["rate"], strict=True):
        code = "" if pd.isna(currency) else str(currency).strip().lower()  # NaN would read as "nan"
        if not _CODE.match(code):
            shown = "(missing)" if pd.isna(currency) else str(currency)
            problems.append(RateProblem(shown, "currency", "not a three-letter currency code"))
            continue
        try:
            value = Decimal(str(rate))
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value <= 0:
            problems.append(RateProblem(code, "rate", f"must be a positive number, got {rate!r}"))
            continue
        if code in rates:
            problems.append(RateProblem(code, "currency", "appears more than once; the first row is used"))
            continue
        rates[code] = str(value)
    return rates, problems


def merged_rates(configured: dict[str, str], warehouse: dict[str, str]) -> pd.DataFrame:
    """One row per currency with its rate and where it came from; the warehouse wins."""
    merged = {
        **{c: (r, "configuration") for c, r in configured.items()},
        **{c: (r, "warehouse") for c, r in warehouse.items()},
    }
    return pd.DataFrame(
        [(code, rate, source) for code, (rate, source) in sorted(merged.items())],
        columns=["currency", "rate", "source"],
    )
