"""Row validation: each rule on its own, the exact messages, and properties of the timestamp parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.ingest.validation import (
    MAX_QUANTITY,
    TooManyBadRows,
    check_customer,
    check_error_rate,
    check_subscription,
    parse_timestamp,
    raw_excerpt,
    validate_rows,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _users(*rows: tuple[object, object]) -> pd.DataFrame:
    return pd.DataFrame([{"user_id": k, "email": f"{k}@x.io", "created_at": c} for k, c in rows])


def test_good_rows_are_kept_with_utc_timestamps():
    frame, problems = validate_rows(
        _users(("u1", "2024-03-15 10:00:00"), ("u2", "2024-03-15T10:00:00+02:00"), ("u3", None)),
        "users",
        "user_id",
        ["created_at"],
        NOW,
    )
    assert problems == []
    assert frame["created_at"].tolist()[:2] == [
        pd.Timestamp("2024-03-15 10:00", tz="UTC"),
        pd.Timestamp("2024-03-15 08:00", tz="UTC"),
    ]
    assert pd.isna(frame["created_at"].iloc[2])


def test_an_unparseable_date_is_reported_and_only_that_row_left_out():
    frame, problems = validate_rows(
        _users(("u1", "03/15/2024"), ("u2", "2024-03-15")), "users", "user_id", ["created_at"], NOW
    )
    assert frame["user_id"].tolist() == ["u2"]
    assert [p.message for p in problems] == [
        "users u1: created_at is not an ISO-8601 timestamp; raw value '03/15/2024'"
    ]
    assert (problems[0].table, problems[0].record, problems[0].field, problems[0].code) == (
        "users",
        "u1",
        "created_at",
        "unparseable_date",
    )


def test_a_future_signup_is_reported_not_pushed_as_a_negative_age():
    frame, problems = validate_rows(_users(("u1", "2027-01-01T00:00:00")), "users", "user_id", ["created_at"], NOW)
    assert frame.empty
    assert [p.message for p in problems] == [
        "users u1: created_at is in the future (now is 2026-11-20T12:00:00+00:00); raw value '2027-01-01T00:00:00'"
    ]


def test_every_duplicate_is_reported_and_none_kept():
    frame, problems = validate_rows(
        _users(("u1", None), ("u2", None), ("u1", None), ("u1", None)), "users", "user_id", [], NOW
    )
    assert frame["user_id"].tolist() == ["u2"]
    assert [p.message for p in problems] == [
        "users u1: user_id appears more than once; none of these rows is synced (3 rows); raw value 'u1'"
    ] * 3


@pytest.mark.parametrize("key", [None, "", "  "])
def test_a_missing_key_is_reported_by_row_number(key):
    frame, problems = validate_rows(_users(("u1", None), (key, None)), "users", "user_id", [], NOW)
    assert frame["user_id"].tolist() == ["u1"]
    raw = "NULL" if key is None else repr(key)
    assert [p.message for p in problems] == [f"users row 2: user_id is missing; raw value {raw}"]


def test_raw_values_are_truncated():
    assert raw_excerpt("x" * 500) == "'" + "x" * 58 + "…"
    assert len(raw_excerpt("x" * 500)) == 60


def test_a_deleted_customer_is_reported_as_deleted():
    problem = check_customer({"id": "cus_1", "object": "customer", "deleted": True})
    assert problem is not None and problem.message == "customer cus_1: deleted was deleted in Stripe; raw value True"
    assert check_customer({"id": "cus_2", "email": None}) is None


@pytest.mark.parametrize("quantity", [-1, 10**12, MAX_QUANTITY + 1, 2.5, "3"])
def test_an_impossible_quantity_is_reported(quantity):
    subscription = {"id": "sub_1", "customer": "cus_1", "items": {"data": [{"quantity": 2}, {"quantity": quantity}]}}
    assert [p.message for p in check_subscription(subscription)] == [
        f"subscription sub_1: items.data[1].quantity is impossible (allowed 0 to {MAX_QUANTITY:,}); "
        f"raw value {quantity!r}"
    ]


@pytest.mark.parametrize(
    ("customer", "deleted"),
    [({"id": "cus_9", "deleted": True}, ()), ("cus_9", {"cus_9"})],  # expanded, or an id the snapshot knows deleted
)
def test_a_subscription_of_a_deleted_customer_is_reported(customer, deleted):
    subscription = {"id": "sub_1", "customer": customer, "items": {"data": [{"quantity": 1}]}}
    assert [p.message for p in check_subscription(subscription, deleted)] == [
        "subscription sub_1: customer was deleted in Stripe; raw value 'cus_9'"
    ]
    assert check_subscription({**subscription, "customer": "cus_1"}, deleted) == []


def test_the_error_rate_fails_only_above_the_limit_with_counts_per_cause():
    _, problems = validate_rows(
        _users(("u1", "bad"), ("u2", "2099-01-01"), ("u3", "bad"), *((f"ok{i}", None) for i in range(7))),
        "users",
        "user_id",
        ["created_at"],
        NOW,
    )
    check_error_rate("users", problems, 10, 7, 0.3)  # 30 % is allowed
    with pytest.raises(TooManyBadRows) as raised:
        check_error_rate("users", problems, 10, 7, 0.2)
    assert str(raised.value) == (
        "users: 3 of 10 rows are bad (30.0% > 20.0%); by cause {'unparseable_date': 2, 'future_date': 1}; "
        "each is in sync_errors"
    )


@settings(deadline=None)  # timing on a shared machine is not what these properties test
@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_iso_text_and_datetimes_parse_to_the_same_instant(moment):
    assert parse_timestamp(moment.isoformat()) == moment
    assert parse_timestamp(moment.replace(tzinfo=None).isoformat(sep=" ")) == moment
    assert parse_timestamp(moment.astimezone(UTC).replace(tzinfo=None)) == moment
    shifted = moment.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=2)
    assert parse_timestamp(shifted.isoformat() + "+02:00") == moment


@settings(deadline=None)
@given(st.text(alphabet="0123456789/.-: abcxyz", max_size=12).filter(lambda t: "-" not in t and ":" not in t))
def test_text_without_iso_separators_is_never_guessed(text):
    if text.strip() == "":
        with pytest.raises(ValueError):
            parse_timestamp(text)
        return
    try:
        parsed = parse_timestamp(text)
    except ValueError:
        return
    assert parsed is not None and text.strip().isdigit()  # only compact ISO forms like 20240315 parse
