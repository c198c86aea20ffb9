"""Intercom's error shape: every failure is an `error.list` with a request id."""

from __future__ import annotations

import uuid
from typing import Any

# Codes for statuses the base produces on its own (injected faults, unrouted paths).
DEFAULT_CODES = {
    400: "parameter_invalid",
    401: "unauthorized",
    404: "not_found",
    406: "not_acceptable",
    409: "conflict",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class ApiError(Exception):
    """Raised by handlers and stores; the app turns it into an `error.list` response."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def new_request_id() -> str:
    return str(uuid.uuid4())


def error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"type": "error.list", "request_id": request_id, "errors": [{"code": code, "message": message}]}


def invalid(message: str) -> ApiError:
    return ApiError(400, "parameter_invalid", message)


def not_found(message: str = "User Not Found", code: str = "not_found") -> ApiError:
    return ApiError(404, code, message)
