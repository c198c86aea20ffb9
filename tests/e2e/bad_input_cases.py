"""The bad-input corpus: what a new user's data and infrastructure bring, and the exact message each earns.

Each case names its input and the message a user reads (in the error, or in `sync_errors`); the
cases are data in bad_input_cases.yaml, the Stripe objects (built from a template) here. The
test module runs every group through the real code: settings through the resources' validators,
warehouse rows and Stripe objects through ingest validation, Intercom values through the push's
acceptance check, Intercom answers and process faults through the push over HTTP to the emulator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from assets.ingest.validation import MAX_QUANTITY
from resources.intercom.resource import IntercomResource
from resources.settings import SyncSettings
from resources.stripe import StripeResource


@dataclass(frozen=True)
class ConfigCase:
    name: str
    make: Callable[[], Any]
    message: str


@dataclass(frozen=True)
class RowCase:
    name: str
    table: str
    rows: list[tuple[Any, Any]]  # (key, created_at); the good rows are added by the test
    messages: list[str]


@dataclass(frozen=True)
class StripeCase:
    name: str
    subscription: dict[str, Any] | None = None
    customer: dict[str, Any] | None = None
    messages: list[str] = field(default_factory=list)


def _sub(quantity: Any = 1, customer: Any = "cus_1") -> dict[str, Any]:
    return {"id": "sub_1", "customer": customer, "items": {"data": [{"id": "si_1", "quantity": quantity}]}}


STRIPE = [
    StripeCase(
        "deleted customer",
        customer={"id": "cus_9", "object": "customer", "deleted": True},
        messages=["customer cus_9: deleted was deleted in Stripe; raw value True"],
    ),
    StripeCase(
        "subscription of a deleted customer",
        _sub(customer={"id": "cus_9", "deleted": True}),
        messages=["subscription sub_1: customer was deleted in Stripe; raw value 'cus_9'"],
    ),
    *[
        StripeCase(
            f"quantity {q!r}",
            _sub(q),
            messages=[
                f"subscription sub_1: items.data[0].quantity is impossible (allowed 0 to {MAX_QUANTITY:,}); "
                f"raw value {q!r}"
            ],
        )
        for q in (-3, 10**12, MAX_QUANTITY + 1, 1.5, "12", True)
    ],
]


@dataclass(frozen=True)
class ValueCase:
    name: str
    column: str
    value: Any
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class AnswerCase:
    """Intercom answers one contact create with this; the record fails, the rest sync."""

    name: str
    kind: str
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class FaultCase:
    """Infrastructure faults the transport retries: every record still syncs, none twice."""

    name: str
    rules: list[dict[str, Any]]


def _expanded(value: Any) -> Any:
    """The case file's value with each `<c*N>` written out (the character c, N times)."""
    if isinstance(value, str):
        return re.sub(r"<(.)\*(\d+)>", lambda m: m[1] * int(m[2]), value)
    if isinstance(value, list):
        return [_expanded(v) for v in value]
    if isinstance(value, dict):
        return {k: _expanded(v) for k, v in value.items()}
    return value


_CASES: dict[str, list[dict[str, Any]]] = _expanded(yaml.safe_load(Path(__file__).with_suffix(".yaml").read_text()))
_MAKERS: dict[str, Callable[..., Any]] = {
    "SyncSettings": SyncSettings,
    "IntercomResource": IntercomResource,
    "StripeResource": StripeResource,
}

CONFIG = [ConfigCase(c["name"], partial(_MAKERS[c["make"]], **c["with"]), c["message"]) for c in _CASES["config"]]
ROWS = [RowCase(c["name"], c["table"], [tuple(r) for r in c["rows"]], c["messages"]) for c in _CASES["rows"]]
VALUES = [ValueCase(**c) for c in _CASES["values"]]
ANSWERS = [AnswerCase(**c) for c in _CASES["answers"]]
FAULTS = [FaultCase(**c) for c in _CASES["faults"]]
