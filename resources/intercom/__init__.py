"""The Intercom REST client, laid out like httpx: resource → client → transport → errors.

- `resource.py`: `IntercomResource`, the Dagster resource (settings; opens clients).
- `client.py`: `IntercomClient`, one method per endpoint revsync calls.
- `transport.py`: `IntercomTransport`, the HTTP layer (retries, stats) over an injectable
  `httpx.AsyncBaseTransport`.
- `pacing.py`: `RatePacer`, the client-side rate-limit window shared by every call.
- `errors.py`: `IntercomAPIError` and its subclasses (the hierarchy is drawn there).

The resource module is loaded on first use (PEP 562): Python runs this file before any
submodule, so an eager import here would make the plain modules that use the client load Dagster.
"""

from typing import TYPE_CHECKING

from resources.intercom.client import IntercomClient
from resources.intercom.errors import (
    ContactConflict,
    IntercomAPIError,
    IntercomInvalidResponse,
    IntercomNetworkError,
    IntercomRateLimited,
)
from resources.intercom.pacing import RateLimitHeaders, RatePacer
from resources.intercom.transport import IntercomTransport, RetryPolicy, TransportStats

if TYPE_CHECKING:
    from resources.intercom.resource import REGION_URLS, IntercomResource

__all__ = [
    "REGION_URLS",
    "ContactConflict",
    "IntercomAPIError",
    "IntercomClient",
    "IntercomInvalidResponse",
    "IntercomNetworkError",
    "IntercomRateLimited",
    "IntercomResource",
    "IntercomTransport",
    "RateLimitHeaders",
    "RatePacer",
    "RetryPolicy",
    "TransportStats",
]


def __getattr__(name: str) -> object:
    if name in ("REGION_URLS", "IntercomResource"):
        from resources.intercom import resource

        return getattr(resource, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
