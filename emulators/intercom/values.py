"""Type checks for values written to Intercom fields and custom attributes."""

from __future__ import annotations

from typing import Any

MAX_STRING_LENGTH = 255


class ValueTypeError(ValueError):
    """The value does not fit the data type; the message says how."""


def coerce_value(value: Any, data_type: str) -> Any:
    """The value as stored for `data_type`, or ValueTypeError. None (clear) always passes."""
    if value is None:
        return None
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if data_type in ("integer", "date"):
        # Dates are Unix seconds: an ISO string is a client bug Intercom rejects.
        if is_int:
            return value
        raise ValueTypeError(f"expected {data_type}, got {type_name(value)}")
    if data_type == "float":
        if is_int or isinstance(value, float):
            return float(value)
        raise ValueTypeError(f"expected float, got {type_name(value)}")
    if data_type == "boolean":
        if isinstance(value, bool):
            return value
        raise ValueTypeError(f"expected boolean, got {type_name(value)}")
    if data_type == "string":
        if not isinstance(value, str):
            raise ValueTypeError(f"expected string, got {type_name(value)}")
        if len(value) > MAX_STRING_LENGTH:
            raise ValueTypeError(f"string longer than {MAX_STRING_LENGTH} characters")
        return value
    raise ValueTypeError(f"unknown data type {data_type}")


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
