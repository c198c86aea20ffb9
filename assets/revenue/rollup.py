"""Customer and account revenue: sums of their subscriptions, converted to the reporting currency.

A key (customer or account) whose subscriptions share one currency reports `mrr_minor` in it; one
with several currencies reports `mrr_minor` in the reporting currency (sum of each currency's total,
each converted exactly and rounded once). The reporting figures are always present, or NA with an
error when a currency has no rate; they are never 0 by accident.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from assets.revenue.frame import Framed
from assets.revenue.money import MissingRateError, convert_minor_array, currency_exponent, has_rate
from assets.revenue.records import RevenueError
from assets.revenue.rules import DEFAULT_RULES, RevenueRules, is_in, status_counts

ROLLUP_COLUMNS: tuple[str, ...] = (
    "mrr_minor",
    "arr_minor",
    "mrr_currency",
    "trial_mrr_minor",
    "reporting_mrr_minor",
    "reporting_trial_mrr_minor",
    "reporting_currency",
    "plan",
    "plan_interval",
    "seat_count",
    "subscription_status",
    "trial_end_at",
    "current_period_end_at",
    "cancel_at_period_end",
    "customer_since",
)


def revenue_by_customer(subscriptions: pd.DataFrame, rules: RevenueRules | None = None) -> Framed:
    """Per Stripe customer: `customer_id` + ROLLUP_COLUMNS, from `mrr_by_subscription`'s frame."""
    return _rollup(subscriptions, "customer_id", rules or DEFAULT_RULES)


def revenue_by_account(
    subscriptions: pd.DataFrame, customer_to_account: Mapping[str, str] | pd.Series, rules: RevenueRules | None = None
) -> Framed:
    """Per account: `account_id` + ROLLUP_COLUMNS; customers without an account are reported, not guessed."""
    accounts = subscriptions["customer_id"].map(customer_to_account)
    unmapped = accounts.isna()
    errors = [
        RevenueError(customer, "customer", "Stripe customer has no account")
        for customer in pd.unique(subscriptions.loc[unmapped, "customer_id"])
    ]
    mapped = subscriptions.loc[~unmapped].assign(account_id=accounts[~unmapped])
    rolled = _rollup(mapped, "account_id", rules or DEFAULT_RULES)
    return Framed(rolled.frame, errors + rolled.errors)


def _group_sum(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Exact integer sums per group code (np.bincount would go through float64)."""
    totals = np.zeros(size, dtype=np.int64)
    np.add.at(totals, codes, values)
    return totals


def _first_best(codes: np.ndarray, score: np.ndarray, size: int) -> np.ndarray:
    """Per group, the first row (snapshot order: Stripe lists newest first) with the highest score."""
    best = np.full(size, -np.inf)
    np.maximum.at(best, codes, score)
    candidates = np.flatnonzero(score == best[codes])
    _, first = np.unique(codes[candidates], return_index=True)
    return candidates[first]


def _reporting_value(
    subs: pd.DataFrame, currency_codes: np.ndarray, currencies: np.ndarray, rules: RevenueRules
) -> np.ndarray:
    """Approximate list MRR in the reporting currency, only to pick a key's main subscription."""
    target = rules.reporting_currency
    rates = np.array(
        [
            float(rules.fx_rates.get(c, 1)) * 10.0 ** (currency_exponent(target) - currency_exponent(c))
            if has_rate(c, target, rules.fx_rates)
            else 0.0
            for c in currencies
        ]
    )
    return subs["list_mrr_minor"].to_numpy(float) * rates[currency_codes]


def _epoch_ns(values: pd.Series) -> np.ndarray:
    """UTC timestamps as float nanoseconds, NaT as NaN (for np.fmin-style reductions)."""
    index = pd.DatetimeIndex(values).as_unit("ns")
    return np.where(index.isna(), np.nan, index.asi8.astype(float))


def _rollup(subs: pd.DataFrame, key: str, rules: RevenueRules) -> Framed:
    if subs.empty:
        return Framed(pd.DataFrame(columns=[key, *ROLLUP_COLUMNS]), [])
    codes, keys = pd.factorize(subs[key].to_numpy(object))
    currency_codes, currencies = pd.factorize(subs["currency"].to_numpy(object))
    pair_codes, pairs = pd.factorize(codes * len(currencies) + currency_codes)
    pair_key, pair_currency = pairs // len(currencies), pairs % len(currencies)
    n_keys, n_pairs = len(keys), len(pairs)
    mrr_pairs = _group_sum(pair_codes, subs["mrr_minor"].to_numpy(np.int64), n_pairs)
    trial_pairs = _group_sum(pair_codes, subs["trial_mrr_minor"].to_numpy(np.int64), n_pairs)

    # Each (key, currency) total is converted once, exactly; a currency without a rate leaves NA.
    reporting = np.zeros((2, n_pairs), dtype=np.int64)
    unknown = np.zeros(n_pairs, dtype=bool)
    errors: list[RevenueError] = []
    for index, currency in enumerate(currencies):
        at = pair_currency == index
        try:
            for row, totals in enumerate((mrr_pairs, trial_pairs)):
                converted = convert_minor_array(totals[at], currency, rules.reporting_currency, rules.fx_rates)
                reporting[row, at] = converted.astype(np.int64)
        except MissingRateError as error:
            unknown |= at
            ids = subs["subscription_id"].to_numpy(object)[currency_codes == index]
            errors.extend(RevenueError(sub, "currency", str(error)) for sub in ids)
    key_unknown = np.zeros(n_keys, dtype=bool)
    np.logical_or.at(key_unknown, pair_key, unknown)
    reporting_mrr = _nullable(_group_sum(pair_key, reporting[0], n_keys), key_unknown)
    reporting_trial = _nullable(_group_sum(pair_key, reporting[1], n_keys), key_unknown)
    single = np.bincount(pair_key, minlength=n_keys) == 1
    key_currency = np.full(n_keys, rules.reporting_currency, dtype=object)
    key_currency[pair_key[single[pair_key]]] = currencies[pair_currency[single[pair_key]]]
    native_mrr = _group_sum(pair_key, np.where(single[pair_key], mrr_pairs, 0), n_keys)
    native_trial = _group_sum(pair_key, np.where(single[pair_key], trial_pairs, 0), n_keys)
    mrr = reporting_mrr.copy()
    mrr[single] = native_mrr[single]
    trial_mrr = reporting_trial.copy()
    trial_mrr[single] = native_trial[single]

    status = subs["status"].to_numpy(object)
    counted = np.asarray(status_counts(status, subs["cancel_at_period_end"].to_numpy(bool), rules), dtype=bool)
    trial = np.asarray(is_in(status, rules.trial_statuses), dtype=bool)
    rank = np.where(counted, 2, np.where(trial, 1, 0))
    # Counting before trialing before the rest, then the largest MRR (reporting currency, approximate).
    value = _reporting_value(subs, currency_codes, currencies, rules)
    main = _first_best(codes, rank * 1e18 + np.minimum(value, 1e17), n_keys)
    paying = mrr.fillna(1).to_numpy(np.int64) > 0  # NA (no rate) still means some MRR counts
    first_paid = np.full(n_keys, np.nan)
    np.fmin.at(first_paid, codes, _epoch_ns(subs["paid_since"]))
    frame = pd.DataFrame(
        {
            key: keys,
            "mrr_minor": mrr,
            "arr_minor": mrr * 12,
            "mrr_currency": key_currency,
            "trial_mrr_minor": trial_mrr,
            "reporting_mrr_minor": reporting_mrr,
            "reporting_trial_mrr_minor": reporting_trial,
            "reporting_currency": rules.reporting_currency,
            "plan": np.where(paying, subs["plan"].to_numpy(object)[main], rules.free_plan),
            "plan_interval": np.where(rank[main] > 0, subs["plan_interval"].to_numpy(object)[main], None),
            "seat_count": _group_sum(codes, np.where(rank > 0, subs["seat_count"].to_numpy(np.int64), 0), n_keys),
            "subscription_status": status[main],
            "trial_end_at": subs["trial_end_at"].array.take(main),
            "current_period_end_at": subs["current_period_end_at"].array.take(main),
            "cancel_at_period_end": subs["cancel_at_period_end"].to_numpy(bool)[main],
            "customer_since": pd.to_datetime(first_paid, unit="ns", utc=True),
        }
    )
    return Framed(frame, errors)


def _nullable(values: np.ndarray, missing: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(values, dtype="Int64")).mask(missing)
