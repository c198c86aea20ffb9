"""Run-wide settings that are not credentials: the as-of time, currency and matching rules."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field, PrivateAttr

# Usage attribute name -> warehouse event name (README's attribute table lists what each yields).
DEFAULT_USAGE_METRICS: dict[str, str] = {
    "reports_created": "report_created",
    "projects_created": "project_created",
    "users_invited": "teammate_invited",
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

    _now: datetime | None = PrivateAttr(default=None)

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
        rates = {self.reporting_currency.lower(): "1"}
        for pair in filter(None, (p.strip() for p in self.fx_rates.split(","))):
            code, sep, rate = pair.partition("=")
            if not sep or not rate.strip():
                raise ValueError(f"fx_rates entry {pair!r} is not of the form 'eur=1.08'")
            rates[code.strip().lower()] = rate.strip()
        return rates
