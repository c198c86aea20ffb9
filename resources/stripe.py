"""Stripe, read through the official SDK pinned to its API version: the Dagster resource.

`StripeResource` holds the configuration and builds the process's one `StripeReader`
(resources/stripe_reader.py, plain Python: the paced, counted reads themselves).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg
import stripe
from pydantic import ConfigDict, Field, PrivateAttr, field_validator

from resources.setting_checks import http_url
from resources.stripe_budget import ENDPOINT_REQUESTS_PER_SECOND, RequestBudget, default_budget
from resources.stripe_reader import (
    PAGE_SIZE,
    SUBSCRIPTION_EXPAND,
    SUBSCRIPTION_RETRIEVE_EXPAND,
    StripeRateLimited,
    StripeReader,
)

__all__ = [
    "PAGE_SIZE",
    "SUBSCRIPTION_EXPAND",
    "SUBSCRIPTION_RETRIEVE_EXPAND",
    "StripeRateLimited",
    "StripeReader",
    "StripeResource",
]


class StripeResource(dg.ConfigurableResource):
    """Stripe API access: the official `StripeClient`, pinned to the SDK's API version."""

    model_config = ConfigDict(hide_input_in_errors=True)  # a bad value may be (or hold) a secret

    api_key: str = Field(repr=False, description="Secret or restricted key (read access suffices). Use an EnvVar.")
    base_url: str | None = Field(default=None, description="API address override, e.g. the local emulator.")
    max_network_retries: int = Field(default=3, description="SDK retries of connection errors and 5xx.")
    requests_per_second: float | None = Field(
        default=None,
        description="The global read budget shared by every call; default Stripe's limit for the key's mode "
        "(100/s live, 25/s test).",
    )
    endpoint_requests_per_second: float = Field(
        default=ENDPOINT_REQUESTS_PER_SECOND,
        description="Budget per endpoint (Stripe: 25/s); never more than the global budget.",
    )
    max_concurrency: int = Field(default=8, ge=1, description="Pages in flight at once during a full listing.")
    max_rate_limit_retries: int = Field(default=8, description="Retries of a page answered with 429.")

    _reader: StripeReader | None = PrivateAttr(default=None)

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return value if value is None or isinstance(value, dg.EnvVar) else http_url("STRIPE_BASE_URL", value)

    @property
    def api_version(self) -> str:
        return stripe.api_version

    def reader(self) -> StripeReader:
        """The process's one reader: one budget for every call made through this resource."""
        if self._reader is None:
            base = {"api": self.base_url} if self.base_url else None
            client = stripe.StripeClient(
                self.api_key,
                base_addresses=base,  # type: ignore[arg-type]
                stripe_version=stripe.api_version,
                max_network_retries=self.max_network_retries,
            )
            budget = RequestBudget(
                self.requests_per_second or default_budget(self.api_key), self.endpoint_requests_per_second
            )
            self._reader = StripeReader(
                client,
                budget,
                max_rate_limit_retries=self.max_rate_limit_retries,
                max_concurrency=self.max_concurrency,
            )
        return self._reader

    def list_events(
        self, types: list[str], created_gte: int | None = None, created_lt: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events of these types (newest first), optionally only those created in [gte, lt)."""
        return self.reader().list_events(types, created_gte, created_lt)
