"""`IntercomResource`: Intercom connection settings for the reverse-ETL assets.

The resource holds configuration only. The push runs on an asyncio loop, and an `httpx.AsyncClient`
belongs to the loop that created it, so `open_client()` builds the client, pacer and pool inside
the running loop and closes them when the push ends. Assets call `run_with_client(work)`, which
runs one async function with an open client on a fresh loop.

`with_transport(t)` sends through another `httpx.AsyncBaseTransport` than the network (tests use
the emulator in process). Dagster rebuilds a resource from its config, which drops the transport:
give such a copy to Dagster as `dg.ResourceDefinition.hardcoded_resource(...)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import dagster as dg
import httpx
from pydantic import ConfigDict, Field, PrivateAttr, field_validator

from resources.intercom.client import IntercomClient
from resources.intercom.transport import IntercomTransport, RetryPolicy
from resources.setting_checks import SettingError, http_url

T = TypeVar("T")

REGION_URLS = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}


class IntercomResource(dg.ConfigurableResource):
    """Intercom REST API 2.x over httpx. Feed `access_token` from `EnvVar("INTERCOM_ACCESS_TOKEN")`."""

    model_config = ConfigDict(hide_input_in_errors=True)  # a bad value may be (or hold) a secret

    access_token: str = Field(repr=False, description="Private app access token (Developer Hub → Authentication).")
    # A plain string, not a Literal: an EnvVar is validated only when the run starts (see `url`).
    region: str = Field(default="us", description="Workspace region: us, eu or au.")
    base_url: str | None = Field(default=None, description="Overrides the regional host (e.g. an emulator).")
    api_version: str = Field(default="2.16", description="Sent as Intercom-Version; pinned.")
    attribute_prefix: str = Field(default="", description="Prefix of every custom attribute revsync writes.")
    max_concurrency: int = Field(default=32, ge=1, description="Calls in flight at most.")
    timeout_s: float = Field(default=30.0, gt=0, description="Read/write timeout per call.")
    connect_timeout_s: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=5, ge=0, description="Retries of 5xx, timeouts and dropped connections.")
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_cap_s: float = Field(default=30.0, gt=0)
    max_rate_limit_waits: int = Field(default=30, ge=0, description="Consecutive 429s on one call before failing.")
    rate_limit_reserve: int = Field(
        default=0, ge=0, description="Calls per 10-s window left unused for other apps on the workspace."
    )

    _http_transport: httpx.AsyncBaseTransport | None = PrivateAttr(default=None)

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return value if value is None or isinstance(value, dg.EnvVar) else http_url("INTERCOM_BASE_URL", value)

    @field_validator("region", mode="before")
    @classmethod
    def _region(cls, value: str) -> str:
        if isinstance(value, dg.EnvVar) or value.lower() in REGION_URLS:
            return value
        raise SettingError("INTERCOM_REGION", repr(value), f"not one of {sorted(REGION_URLS)}")

    @property
    def url(self) -> str:
        if self.base_url:
            return self.base_url
        if self.region.lower() not in REGION_URLS:
            raise ValueError(f"Intercom region {self.region!r} is not one of {sorted(REGION_URLS)}")
        return REGION_URLS[self.region.lower()]

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_retries=self.max_retries,
            backoff_base_s=self.backoff_base_s,
            backoff_cap_s=self.backoff_cap_s,
            max_rate_limit_waits=self.max_rate_limit_waits,
        )

    def with_transport(self, transport: httpx.AsyncBaseTransport) -> IntercomResource:
        """A copy of this resource whose clients send through `transport` instead of the network."""
        copy = self.model_copy()
        copy._http_transport = transport
        return copy

    @asynccontextmanager
    async def open_client(self) -> AsyncIterator[IntercomClient]:
        transport = IntercomTransport(
            base_url=self.url,
            access_token=self.access_token,
            api_version=self.api_version,
            max_concurrency=self.max_concurrency,
            timeout_s=self.timeout_s,
            connect_timeout_s=self.connect_timeout_s,
            retry=self.retry_policy(),
            rate_limit_reserve=self.rate_limit_reserve,
            http_transport=self._http_transport,
        )
        try:
            yield IntercomClient(transport)
        finally:
            await transport.aclose()

    def run_with_client(self, work: Callable[[IntercomClient], Awaitable[T]]) -> T:
        """Run `work(client)` to completion on a new event loop, the client open around it."""

        async def run() -> T:
            async with self.open_client() as client:
                return await work(client)

        return asyncio.run(run())
