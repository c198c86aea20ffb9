"""Stripe's error responses: `{"error": {"type", "message", "param"?, "code"?, "doc_url"?}}`."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """Raised by handlers; the app turns it into Stripe's error JSON with `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        return {"error": error}


def invalid(message: str, param: str | None = None) -> StripeError:
    return StripeError(400, message, param=param)


def missing_param(param: str) -> StripeError:
    return StripeError(400, f"Missing required param: {param}.", param=param, code="parameter_missing")


def no_such(kind: str, object_id: str, *, param: str | None = None) -> StripeError:
    """A missing object named in the URL is a 404; one named in a parameter is a 400."""
    status = 400 if param else 404
    return StripeError(status, f"No such {kind}: '{object_id}'", param=param or "id", code="resource_missing")
