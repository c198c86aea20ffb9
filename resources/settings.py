"""Run-wide settings that are not credentials: the as-of time, currency and matching rules."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field, PrivateAttr, field_validator

from resources import setting_checks
from resources.usage_query import DEFAULT_USAGE_METRICS

# The environment variable behind each setting in production (orchestration/environments.py), named in errors.
ENV = {
    "reporting_currency": "REVSYNC_REPORTING_CURRENCY",
    "fx_rates": "REVSYNC_FX_RATES",
    "account_metadata_key": "REVSYNC_STRIPE_ACCOUNT_METADATA_KEY",
}


class SyncSettings(dg.ConfigurableResource):
    """Settings shared by every asset of a sync run."""

    as_of: str | None = Field(
        default=None,
        description="ISO-8601 UTC time the run computes attributes for; default: when the run starts.",
    )
    reporting_currency: str = Field(default="usd", description="Currency every MRR figure is also converted to.")
    fx_rates: str = Field(
        default="",
        description="Units of reporting currency per unit of each currency, e.g. 'eur=1.08,gbp=1.27,jpy=0.0067'.",
    )
    account_metadata_key: str = Field(
        default="account_id", description="Stripe customer metadata key naming the account."
    )
    max_error_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Fail an ingest step when more than this share of a table's rows are bad (each is in sync_errors).",
    )
    usage_metrics: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_USAGE_METRICS),
        description="Usage attribute name -> warehouse event name; each yields a lifetime and a 30-day count.",
    )
    plays_file: str = Field(
        default="",
        description="Path of the plays file (segments, holdouts, tiers); default: $REVSYNC_PLAYS, else plays.yaml.",
    )

    _now: datetime | None = PrivateAttr(default=None)

    # Checked when the resource loads, before any step works; an EnvVar is checked once resolved.
    @field_validator("reporting_currency", mode="before")
    @classmethod
    def _currency(cls, value: str) -> str:
        return value if isinstance(value, dg.EnvVar) else setting_checks.currency(ENV["reporting_currency"], value)

    @field_validator("fx_rates", mode="before")
    @classmethod
    def _fx_rates(cls, value: str) -> str:
        if not isinstance(value, dg.EnvVar):
            setting_checks.fx_rates(ENV["fx_rates"], value)
        return value

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, value: str | None) -> str | None:
        if value and not isinstance(value, dg.EnvVar):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise setting_checks.SettingError("settings.as_of", repr(value), "not an ISO-8601 time") from None
        return value

    @field_validator("account_metadata_key", mode="before")
    @classmethod
    def _metadata_key(cls, value: str) -> str:
        if not isinstance(value, dg.EnvVar) and not value.strip():
            raise setting_checks.SettingError(ENV["account_metadata_key"], repr(value), "must not be empty")
        return value

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._now = self.resolve_as_of()

    def resolve_as_of(self) -> datetime:
        if self.as_of:
            parsed = datetime.fromisoformat(self.as_of)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        # One instant per run, to the second, so every asset agrees on "today".
        return datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now or self.resolve_as_of()

    def parsed_fx_rates(self) -> dict[str, str]:
        """Currency -> rate as decimal strings, lower-case codes; the reporting currency is 1."""
        return {self.reporting_currency.lower(): "1", **setting_checks.fx_rates(ENV["fx_rates"], self.fx_rates)}
