"""The bad-input corpus: what a new user's data and infrastructure bring, and the exact message each earns.

Each case names its input and the message a user reads (in the error, or in `sync_errors`). The
test module runs every group through the real code: settings through the resources' validators,
warehouse rows and Stripe objects through ingest validation, Intercom values through the push's
acceptance check, Intercom answers and process faults through the push over HTTP to the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assets.ingest.validation import MAX_QUANTITY
from resources.intercom.resource import IntercomResource
from resources.settings import SyncSettings
from resources.stripe import StripeResource


@dataclass(frozen=True)
class ConfigCase:
    name: str
    make: Callable[[], Any]
    message: str


CONFIG = [
    ConfigCase(
        "fx rate not a number",
        lambda: SyncSettings(fx_rates="eur=abc"),
        "REVSYNC_FX_RATES='eur=abc': the rate of eur ('abc') is not a positive number",
    ),
    ConfigCase(
        "fx rate zero",
        lambda: SyncSettings(fx_rates="gbp=0"),
        "REVSYNC_FX_RATES='gbp=0': the rate of gbp ('0') is not a positive number",
    ),
    ConfigCase(
        "fx rate negative",
        lambda: SyncSettings(fx_rates="eur=1.08,jpy=-0.0067"),
        "REVSYNC_FX_RATES='eur=1.08,jpy=-0.0067': the rate of jpy ('-0.0067') is not a positive number",
    ),
    ConfigCase(
        "fx rate infinite",
        lambda: SyncSettings(fx_rates="eur=Infinity"),
        "REVSYNC_FX_RATES='eur=Infinity': the rate of eur ('Infinity') is not a positive number",
    ),
    ConfigCase(
        "fx currency unknown",
        lambda: SyncSettings(fx_rates="eur=1.08,abc=2"),
        "REVSYNC_FX_RATES='eur=1.08,abc=2': 'abc' is not an ISO 4217 currency code",
    ),
    ConfigCase(
        "fx entry without =",
        lambda: SyncSettings(fx_rates="eur 1.08"),
        "REVSYNC_FX_RATES='eur 1.08': entry 'eur 1.08' is not of the form 'eur=1.08'",
    ),
    ConfigCase(
        "reporting currency unknown",
        lambda: SyncSettings(reporting_currency="xyz"),
        "REVSYNC_REPORTING_CURRENCY='xyz': not an ISO 4217 currency code (e.g. usd, eur, gbp)",
    ),
    ConfigCase(
        "reporting currency a symbol",
        lambda: SyncSettings(reporting_currency="$"),
        "REVSYNC_REPORTING_CURRENCY='$': not an ISO 4217 currency code (e.g. usd, eur, gbp)",
    ),
    ConfigCase(
        "as_of not ISO", lambda: SyncSettings(as_of="yesterday"), "settings.as_of='yesterday': not an ISO-8601 time"
    ),
    ConfigCase(
        "metadata key empty",
        lambda: SyncSettings(account_metadata_key=""),
        "REVSYNC_STRIPE_ACCOUNT_METADATA_KEY='': must not be empty",
    ),
    ConfigCase(
        "intercom region unknown",
        lambda: IntercomResource(access_token="t", region="moon"),
        "INTERCOM_REGION='moon': not one of ['au', 'eu', 'us']",
    ),
    ConfigCase(
        "intercom base url without scheme",
        lambda: IntercomResource(access_token="t", base_url="api.intercom.io"),
        "INTERCOM_BASE_URL='api.intercom.io': not an http(s) URL",
    ),
    ConfigCase(
        "stripe base url with password",
        lambda: StripeResource(api_key="k", base_url="ftp://me:pw@host"),
        "STRIPE_BASE_URL='ftp://host': not an http(s) URL",
    ),
]


@dataclass(frozen=True)
class RowCase:
    name: str
    table: str
    rows: list[tuple[Any, Any]]  # (key, created_at); the good rows are added by the test
    messages: list[str]


ROWS = [
    RowCase(
        "US date",
        "users",
        [("u1", "03/15/2024")],
        ["users u1: created_at is not an ISO-8601 timestamp; raw value '03/15/2024'"],
    ),
    RowCase(
        "European date",
        "users",
        [("u1", "15.03.2024")],
        ["users u1: created_at is not an ISO-8601 timestamp; raw value '15.03.2024'"],
    ),
    RowCase(
        "word for a date",
        "accounts",
        [("a1", "last tuesday")],
        ["accounts a1: created_at is not an ISO-8601 timestamp; raw value 'last tuesday'"],
    ),
    RowCase(
        "impossible calendar day",
        "users",
        [("u1", "2024-02-30")],
        ["users u1: created_at is not an ISO-8601 timestamp; raw value '2024-02-30'"],
    ),
    RowCase(
        "epoch number as text",
        "users",
        [("u1", "1710460800")],
        ["users u1: created_at is not an ISO-8601 timestamp; raw value '1710460800'"],
    ),
    RowCase(
        "future signup",
        "users",
        [("u1", "2030-01-01")],
        ["users u1: created_at is in the future (now is 2026-11-20T12:00:00+00:00); raw value '2030-01-01'"],
    ),
    RowCase(
        "future account",
        "accounts",
        [("a1", "2026-11-21T00:00:00Z")],
        [
            "accounts a1: created_at is in the future (now is 2026-11-20T12:00:00+00:00); "
            "raw value '2026-11-21T00:00:00Z'"
        ],
    ),
    RowCase("NULL key", "users", [(None, "2024-01-01")], ["users row 1: user_id is missing; raw value NULL"]),
    RowCase("blank key", "users", [("  ", "2024-01-01")], ["users row 1: user_id is missing; raw value '  '"]),
    RowCase(
        "duplicate key",
        "users",
        [("u1", None), ("u1", "2024-01-01")],
        ["users u1: user_id appears more than once; none of these rows is synced (2 rows); raw value 'u1'"] * 2,
    ),
    RowCase(
        "duplicate account",
        "accounts",
        [("a1", None), ("a1", None), ("a1", None)],
        ["accounts a1: account_id appears more than once; none of these rows is synced (3 rows); raw value 'a1'"] * 3,
    ),
    RowCase(
        "huge garbage value truncated",
        "users",
        [("u1", "x" * 5000)],
        ["users u1: created_at is not an ISO-8601 timestamp; raw value '" + "x" * 58 + "…"],
    ),
]


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


VALUES = [
    ValueCase(
        "email over 255",
        "email",
        "a" * 250 + "@ex.com",
        "email",
        "value_too_long",
        "email is 257 characters; Intercom keeps at most 255 and revsync never cuts a value: fix it at the source",
    ),
    ValueCase(
        "email without @",
        "email",
        "ann.example.com",
        "email",
        "invalid_email",
        "email 'ann.example.com' is not a valid email address",
    ),
    ValueCase(
        "email with two @",
        "email",
        "ann@@example.com",
        "email",
        "invalid_email",
        "email 'ann@@example.com' is not a valid email address",
    ),
    ValueCase(
        "email without domain dot",
        "email",
        "ann@localhost",
        "email",
        "invalid_email",
        "email 'ann@localhost' is not a valid email address",
    ),
    ValueCase(
        "name over 255",
        "name",
        "N" * 256,
        "name",
        "value_too_long",
        "name is 256 characters; Intercom keeps at most 255 and revsync never cuts a value: fix it at the source",
    ),
    ValueCase(
        "seat count beyond int32",
        "seat_count",
        10**12,
        "custom_attributes.seat_count",
        "value_out_of_range",
        "custom_attributes.seat_count 1000000000000 is outside the range Intercom accepts "
        "(-2147483648 to 2147483647); never capped",
    ),
]


@dataclass(frozen=True)
class AnswerCase:
    """Intercom answers one contact create with this; the record fails, the rest sync."""

    name: str
    kind: str
    status: int
    code: str
    message: str


ANSWERS = [
    AnswerCase("400 bad request", "status", 400, "parameter_invalid", "Injected 400"),
    AnswerCase("403 forbidden", "status", 403, "bad_request", "Injected 403"),
    AnswerCase("422 unprocessable", "status", 422, "bad_request", "Injected 422"),
    AnswerCase("HTML body from a proxy", "malformed", 400, "http_400", "Bad Request"),
]


@dataclass(frozen=True)
class FaultCase:
    """Infrastructure faults the transport retries: every record still syncs, none twice."""

    name: str
    rules: list[dict[str, Any]]


FAULTS = [
    FaultCase("two 503s", [{"kind": "status", "status": 503, "times": 2}]),
    FaultCase("dropped connections", [{"kind": "drop", "times": 3}]),
    FaultCase("a timeout", [{"kind": "timeout", "seconds": 1.0, "times": 1}]),
    FaultCase("HTML 502 from a proxy", [{"kind": "malformed", "status": 502, "times": 2}]),
    FaultCase("a bare 429 without headers", [{"kind": "malformed", "status": 429, "times": 2}]),
]
