"""Every custom attribute revsync writes to Intercom: its name, model, type and meaning.

This is the one source of truth: the attributes assets produce exactly these columns, the push
makes sure each exists in Intercom with this type before writing, and the README's attribute table
is checked against it (plus the plays' segment and tier attributes, assets/plays/attributes.py)
by a test. Names are snake_case and stable; never `stripe_*` (reserved by
Intercom's own Stripe app). Intercom requires custom attribute names to be unique across the
contact and company models, so company revenue fields carry an `account_` prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from resources.usage_query import DEFAULT_USAGE_METRICS

Model = Literal["contact", "company"]
DataType = Literal["string", "integer", "float", "boolean", "date"]

RESERVED_PREFIX = "stripe_"


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    model: Model
    data_type: DataType
    description: str

    def full_name(self, prefix: str = "") -> str:
        """The name as written to Intercom, with the optional deployment-wide prefix."""
        return f"{prefix}{self.name}"


def _contact(name: str, data_type: DataType, description: str) -> AttributeSpec:
    return AttributeSpec(name, "contact", data_type, description)


def _company(name: str, data_type: DataType, description: str) -> AttributeSpec:
    return AttributeSpec(name, "company", data_type, description)


# Usage metrics: attribute name -> warehouse event name. Each yields a lifetime count and a
# last-30-days count (`<name>_30d`).
def usage_attributes(metrics: dict[str, str]) -> list[AttributeSpec]:
    specs: list[AttributeSpec] = []
    for name, event in metrics.items():
        specs.append(_contact(name, "integer", f"Lifetime count of `{event}` events."))
        specs.append(_contact(f"{name}_30d", "integer", f"Count of `{event}` events in the last 30 days."))
    return specs


CONTACT_REVENUE_ATTRIBUTES: list[AttributeSpec] = [
    _contact("plan", "string", "The account's plan (free when nothing counts toward MRR)."),
    _contact("plan_interval", "string", "Billing interval of the account's main plan: month or year."),
    _contact("seat_count", "integer", "Seats on the account's subscription (quantity of the seat price)."),
    _contact("mrr", "float", "The account's MRR in `mrr_currency`, major units."),
    _contact("arr", "float", "12 x `mrr`, in `mrr_currency`, major units."),
    _contact("mrr_currency", "string", "Currency of `mrr`/`arr` (lower-case ISO code)."),
    _contact("reporting_mrr", "float", "The account's MRR converted to the reporting currency, major units."),
    _contact("trial_mrr", "float", "MRR the trial converts at, in `mrr_currency`; 0 when not trialing."),
    _contact(
        "subscription_status",
        "string",
        "Lifecycle state: active, trialing, trial_cancelled, cancelled_pending, past_due, paused, expired or free.",
    ),
    _contact("trial_end_at", "date", "When the account's trial ends."),
    _contact("current_period_end_at", "date", "When the current billing period ends (renewal date)."),
    _contact("cancel_at_period_end", "boolean", "The subscription is cancelled and ends at period end."),
    _contact("expires_at", "date", "When access ends unless the subscription renews or converts."),
    _contact("customer_since", "date", "First paid day of the account."),
    _contact("mrr_change_30d", "float", "Change of the account's reporting MRR over the last 30 days, major units."),
    _contact("last_mrr_movement", "string", "The account's latest MRR movement in the last 90 days (docs/revenue.md)."),
    _contact("account_age_days", "integer", "Whole days since the user signed up."),
    _contact("last_active_at", "date", "Last product usage event of the user."),
]

COMPANY_ATTRIBUTES: list[AttributeSpec] = [
    _company("account_plan_interval", "string", "Billing interval of the account's main plan."),
    _company("account_seat_count", "integer", "Seats on the account's subscriptions."),
    _company("account_mrr", "float", "Sum of the account's MRR in `account_mrr_currency`, major units."),
    _company("account_arr", "float", "12 x `account_mrr`."),
    _company("account_mrr_currency", "string", "Currency of `account_mrr`."),
    _company("account_reporting_mrr", "float", "Account MRR in the reporting currency, major units."),
    _company("account_subscription_status", "string", "Lifecycle state of the account (as `subscription_status`)."),
    _company("account_trial_end_at", "date", "When the account's trial ends."),
    _company("account_current_period_end_at", "date", "When the current billing period ends."),
    _company("account_expires_at", "date", "When the account's access ends unless it renews or converts."),
    _company("account_mrr_change_30d", "float", "Change of the account's reporting MRR over the last 30 days."),
    _company("account_last_mrr_movement", "string", "The account's latest MRR movement in the last 90 days."),
    _company("account_user_count", "integer", "Users in the account."),
]


def catalog(usage_metrics: dict[str, str] | None = None) -> list[AttributeSpec]:
    """The attributes the attributes group computes, contact first.

    The plays add theirs (segment and tier attributes, from plays.yaml): the push writes
    `assets.plays.attributes.sync_catalog`, this list plus those.
    """
    metrics = DEFAULT_USAGE_METRICS if usage_metrics is None else usage_metrics
    return [*CONTACT_REVENUE_ATTRIBUTES, *usage_attributes(metrics), *COMPANY_ATTRIBUTES]
