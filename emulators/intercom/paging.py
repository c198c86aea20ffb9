"""Opaque cursors and the `pages` objects of Intercom's list responses."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from .errors import invalid

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 150


def encode_cursor(page: int, position: int) -> str:
    raw = json.dumps({"page": page, "position": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(page number, position to resume after) from a cursor this emulator issued."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return int(data["page"]), int(data["position"])
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid("starting_after is not a valid cursor") from exc


def per_page_value(raw: Any, default: int = DEFAULT_PER_PAGE) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise invalid("per_page must be an integer") from exc
    if not 1 <= value <= MAX_PER_PAGE:
        raise invalid(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return value


def cursor_pages(page: int, per_page: int, total: int, next_cursor: str | None) -> dict[str, Any]:
    pages: dict[str, Any] = {
        "type": "pages",
        "page": page,
        "per_page": per_page,
        "total_pages": max(1, math.ceil(total / per_page)),
    }
    if next_cursor is not None:
        pages["next"] = {"per_page": per_page, "starting_after": next_cursor}
    return pages
