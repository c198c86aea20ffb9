"""Everything the Intercom client raises, in one place (as httpx keeps its exceptions).

    Exception
     └── IntercomAPIError          a call Intercom refused, or that got no usable answer after all
         │                         retries: method, path, status, code, message, field, request_id
         ├── IntercomNetworkError      no response at all (timeouts, dropped connections); status None
         ├── IntercomRateLimited       429 more times in a row than `max_rate_limit_waits`
         └── IntercomInvalidResponse   a success status whose body is not JSON

Callers catch `IntercomAPIError`: any of them is one record's failure, never the run's. The
subclasses tell a log reader what went wrong without parsing `code`. `ContactConflict` reads what a
409 on a contact write names. No message ever holds the access token (it lives only in the HTTP
client's default headers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

_CONFLICT_ID = re.compile(r"id=([0-9a-zA-Z]+)")


class IntercomAPIError(Exception):
    """A call Intercom refused (or that never got an answer after all retries)."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int | None,
        code: str,
        message: str,
        field: str | None = None,
        request_id: str | None = None,
        link: str | None = None,
    ) -> None:
        self.method, self.path, self.status = method, path, status
        self.code, self.message, self.field, self.request_id = code, message, field, request_id
        self.link = link  # the `Link` header: where a merged contact (410) lives on
        super().__init__(f"{method} {path} -> {status or 'no response'} {code}: {message} (request_id={request_id})")

    @classmethod
    def from_response(cls, method: str, path: str, response: httpx.Response) -> IntercomAPIError:
        """The error Intercom's body describes (its first `errors` entry), else the status line."""
        try:
            body = response.json()
        except ValueError:
            body = None
        first: dict[str, Any] = {}
        request_id = None
        if isinstance(body, dict):
            request_id = body.get("request_id")
            errors = body.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                first = errors[0]
            elif isinstance(body.get("error"), dict):
                first = body["error"]
        return cls(
            method=method,
            path=path,
            status=response.status_code,
            code=str(first.get("code") or f"http_{response.status_code}"),
            message=str(first.get("message") or response.reason_phrase),
            field=first.get("field"),
            request_id=request_id or response.headers.get("x-request-id"),
            link=response.headers.get("link"),
        )


class IntercomNetworkError(IntercomAPIError):
    """No response after every retry: the last attempt timed out or lost its connection."""

    def __init__(self, *, method: str, path: str, cause: BaseException) -> None:
        super().__init__(method=method, path=path, status=None, code="network_error", message=type(cause).__name__)


class IntercomRateLimited(IntercomAPIError):
    """Intercom kept answering 429 after waiting for each reset."""


class IntercomInvalidResponse(IntercomAPIError):
    """A success status whose body is not JSON (a proxy's page, a truncated answer)."""

    def __init__(self, *, method: str, path: str, status: int) -> None:
        message = "the response body is not JSON"
        super().__init__(method=method, path=path, status=status, code="invalid_response", message=message)


@dataclass(frozen=True)
class ContactConflict:
    """What a 409 on a contact write names: the existing contact and whether it is archived."""

    contact_id: str
    archived: bool

    @classmethod
    def parse(cls, error: IntercomAPIError) -> ContactConflict | None:
        if error.status != 409:
            return None
        match = _CONFLICT_ID.search(error.message)
        if match is None:
            return None
        return cls(contact_id=match.group(1), archived="archived" in error.message.lower())
