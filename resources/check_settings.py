"""Thresholds of the checks that gate the Intercom push, and the run's acknowledged checks.

A deployment sets the thresholds (production reads `REVSYNC_CHECK_*` variables, see
`orchestration/environments.py`); an operator acknowledges a failed check for one run through run
config (docs/operations.md, "Checks before the push"):

    resources:
      acknowledged_checks:
        config:
          names: [revenue_swing_explained]

The acknowledgements are a resource of their own because run config replaces a resource's whole
configuration: acknowledging a check must not reset the deployment's thresholds to defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg
from pydantic import Field


class CheckSettings(dg.ConfigurableResource):
    """What the blocking checks accept before anything is written to Intercom."""

    usage_max_age_hours: float = Field(
        default=36, gt=0, description="The newest usage event must be younger than this many hours."
    )
    mrr_swing_percent: float = Field(
        default=20,
        ge=0,
        description="Total reporting MRR may move this much against the last push unless Stripe explains it.",
    )
    max_held_back_percent: float = Field(
        default=5, ge=0, le=100, description="Share of accounts held back for incomplete revenue, at most."
    )
    max_unmatched_customer_percent: float = Field(
        default=10, ge=0, le=100, description="Share of Stripe customers matching no account, at most."
    )
    max_unreadable_subscription_percent: float = Field(
        default=2, ge=0, le=100, description="Share of Stripe subscriptions that could not be read, at most."
    )
    segment_swing_percent: float = Field(
        default=50, ge=0, description="A segment growing or shrinking more than this against the last push warns."
    )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> CheckSettings:
        """Thresholds from `REVSYNC_CHECK_<FIELD>` variables (e.g. REVSYNC_CHECK_MRR_SWING_PERCENT=30)."""
        values = {
            name: float(environ[variable])
            for name in cls.model_fields
            if (variable := f"REVSYNC_CHECK_{name.upper()}") in environ
        }
        return cls.model_validate(values)


class AcknowledgedChecks(dg.ConfigurableResource):
    """Checks (by name) whose failure one run accepts: reported as warnings, not blocking."""

    names: list[str] = Field(default_factory=list, description="Check names, e.g. revenue_swing_explained.")
