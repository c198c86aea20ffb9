"""Values Intercom would refuse or change are per-record errors for their field, never cut or capped."""

from __future__ import annotations

import pandas as pd

from assets.attributes.catalog import catalog
from assets.push.acceptable import reject_unacceptable
from assets.push.plan import FieldSpec, company_fields, contact_fields

CONTACT_FIELDS = contact_fields(catalog())
COMPANY_FIELDS = company_fields(catalog())


def _frame(rows: list[dict[str, object]], fields: list[FieldSpec]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for spec in fields:
        if spec.column not in frame:
            frame[spec.column] = None
    return frame


def _contacts(**overrides: object) -> pd.DataFrame:
    rows: list[dict[str, object]] = [
        {"external_id": f"u{i}", "email": f"u{i}@acme.io", "name": "Ann", "seat_count": 3} for i in range(3)
    ]
    rows[1].update(overrides)
    return _frame(rows, CONTACT_FIELDS)


def _refused(
    frame: pd.DataFrame, fields: list[FieldSpec] = CONTACT_FIELDS, key: str = "external_id", model: str = "contact"
):
    kept, errors = reject_unacceptable(frame, key, fields, model)
    return kept[key].tolist(), [(e.model, e.record_key, e.field, e.code, e.message) for e in errors]


def test_good_records_pass_untouched():
    frame = _contacts()
    kept, errors = reject_unacceptable(frame, "external_id", CONTACT_FIELDS, "contact")
    assert errors == [] and kept.equals(frame)


def test_an_over_long_email_is_refused_not_cut():
    email = "a" * 250 + "@acme.io"
    message = "email is 258 characters; Intercom keeps at most 255 and revsync never cuts a value: fix it at the source"
    assert _refused(_contacts(email=email)) == (["u0", "u2"], [("contact", "u1", "email", "value_too_long", message)])


def test_a_malformed_email_is_refused():
    for email in ("ann at acme.io", "ann@acme", "@acme.io", "ann@@acme.io", "ann@acme .io"):
        kept, errors = _refused(_contacts(email=email))
        assert kept == ["u0", "u2"]
        assert errors == [("contact", "u1", "email", "invalid_email", f"email {email!r} is not a valid email address")]


def test_a_custom_string_over_255_is_refused():
    _, errors = _refused(_contacts(plan="p" * 256))
    assert [e[2:4] for e in errors] == [("custom_attributes.plan", "value_too_long")]


def test_an_integer_beyond_intercoms_range_is_refused_not_capped():
    _, errors = _refused(_contacts(seat_count=10**12))
    assert errors == [
        (
            "contact",
            "u1",
            "custom_attributes.seat_count",
            "value_out_of_range",
            "custom_attributes.seat_count 1000000000000 is outside the range Intercom accepts "
            "(-2147483648 to 2147483647); never capped",
        )
    ]


def test_monthly_spend_beyond_two_to_the_31_is_refused():
    frame = _frame(
        [{"company_id": "a1", "monthly_spend": 2**31 - 0.4}, {"company_id": "a2", "monthly_spend": 3e10}],
        COMPANY_FIELDS,
    )
    kept, errors = _refused(frame, COMPANY_FIELDS, "company_id", "company")
    assert kept == [] and [e[1:4] for e in errors] == [
        ("a1", "monthly_spend", "value_out_of_range"),  # rounds half up to 2**31, past the limit
        ("a2", "monthly_spend", "value_out_of_range"),
    ]
