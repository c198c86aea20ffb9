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

from assets.money import MissingRateError, convert_minor_array, currency_exponent, has_rate
from assets.revenue_frame import Framed
from assets.revenue_records import RevenueError
from assets.revenue_rules import DEFAULT_RULES, RevenueRules, is_in, status_counts

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


def _converted_totals(subs: pd.DataFrame, key: str, rules: RevenueRules) -> tuple[pd.DataFrame, list[RevenueError]]:
    """Per (key, currency) native totals with their exact reporting-currency conversion (NA: no rate)."""
    totals = subs.groupby([key, "currency"], sort=False)[["mrr_minor", "trial_mrr_minor"]].sum().reset_index()
    reporting = rules.reporting_currency
    totals["reporting_mrr_minor"] = pd.array([pd.NA] * len(totals), dtype="Int64")
    totals["reporting_trial_mrr_minor"] = pd.array([pd.NA] * len(totals), dtype="Int64")
    errors: list[RevenueError] = []
    for currency, index in totals.groupby("currency", sort=False).groups.items():
        try:
            for column in ("mrr_minor", "trial_mrr_minor"):
                amounts = totals.loc[index, column].to_numpy(np.int64)
                converted = convert_minor_array(amounts, currency, reporting, rules.fx_rates)
                totals.loc[index, f"reporting_{column}"] = converted.astype(np.int64)
        except MissingRateError as error:
            ids = subs.loc[subs["currency"] == currency, "subscription_id"]
            errors.extend(RevenueError(sub, "currency", str(error)) for sub in ids)
    return totals, errors


def _ranking_value(subs: pd.DataFrame, rules: RevenueRules) -> np.ndarray:
    """Approximate list MRR in the reporting currency, only to pick a key's main subscription."""
    rate = {
        c: float(rules.fx_rates.get(c, 1))
        * 10.0 ** (currency_exponent(rules.reporting_currency) - currency_exponent(c))
        for c in pd.unique(subs["currency"])
        if has_rate(c, rules.reporting_currency, rules.fx_rates)
    }
    return subs["list_mrr_minor"].to_numpy(float) * subs["currency"].map(rate).fillna(0.0).to_numpy(float)


def _rollup(subs: pd.DataFrame, key: str, rules: RevenueRules) -> Framed:
    if subs.empty:
        return Framed(pd.DataFrame(columns=[key, *ROLLUP_COLUMNS]), [])
    totals, errors = _converted_totals(subs, key, rules)
    by_key = totals.groupby(key, sort=False)
    single = by_key["currency"].transform("size") == 1
    reporting_columns = ["reporting_mrr_minor", "reporting_trial_mrr_minor"]
    summed = by_key[reporting_columns].sum()
    summed = summed.mask(totals[reporting_columns].isna().groupby(totals[key], sort=False).any()).astype("Int64")
    native = totals[single].set_index(key)

    live_counts = np.asarray(
        status_counts(subs["status"].to_numpy(object), subs["cancel_at_period_end"].to_numpy(), rules)
    )
    trial = np.asarray(is_in(subs["status"].to_numpy(object), rules.trial_statuses), dtype=bool)
    ranked = subs.assign(
        _rank=np.where(live_counts, 2, np.where(trial, 1, 0)),
        _value=_ranking_value(subs, rules),
        _live_seats=np.where(live_counts | trial, subs["seat_count"], 0),
    )
    main = ranked.sort_values([key, "_rank", "_value", "created_at"], ascending=[True, False, False, False])
    main = main.drop_duplicates(key).set_index(key)
    keys = main.index

    mrr = native["mrr_minor"].reindex(keys).astype("Int64").fillna(summed["reporting_mrr_minor"].reindex(keys))
    trial_mrr = native["trial_mrr_minor"].reindex(keys).astype("Int64")
    trial_mrr = trial_mrr.fillna(summed["reporting_trial_mrr_minor"].reindex(keys))
    currency = native["currency"].reindex(keys).fillna(rules.reporting_currency)
    paying = (mrr > 0).fillna(True).to_numpy(bool)  # NA (no rate) still means some MRR counts
    live = (main["_rank"] > 0).to_numpy()
    frame = pd.DataFrame(
        {
            key: keys,
            "mrr_minor": mrr.to_numpy(),
            "arr_minor": (mrr * 12).to_numpy(),
            "mrr_currency": currency.to_numpy(object),
            "trial_mrr_minor": trial_mrr.to_numpy(),
            "reporting_mrr_minor": summed["reporting_mrr_minor"].reindex(keys).to_numpy(),
            "reporting_trial_mrr_minor": summed["reporting_trial_mrr_minor"].reindex(keys).to_numpy(),
            "reporting_currency": rules.reporting_currency,
            "plan": np.where(paying, main["plan"].to_numpy(object), rules.free_plan),
            "plan_interval": np.where(live, main["plan_interval"].to_numpy(object), None),
            "seat_count": ranked.groupby(key)["_live_seats"].sum().reindex(keys).to_numpy(np.int64),
            "subscription_status": main["status"].to_numpy(object),
            "trial_end_at": main["trial_end_at"].to_numpy(),
            "current_period_end_at": main["current_period_end_at"].to_numpy(),
            "cancel_at_period_end": main["cancel_at_period_end"].to_numpy(bool),
            "customer_since": subs.groupby(key)["paid_since"].min().reindex(keys).to_numpy(),
        }
    )
    return Framed(frame.reset_index(drop=True), errors)
