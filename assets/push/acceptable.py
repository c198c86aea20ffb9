"""Values Intercom would refuse or silently change, found before anything is sent. Pure: no Dagster.

revsync never alters identity or data to make it fit: an over-long string (Intercom keeps 255
characters), a malformed email, or an integer outside Intercom's 32-bit range (`monthly_spend`'s
documented limit is 2**31-1) is an error for that record and field, and the record is left out of
the push, so Intercom keeps its last good values. docs/push.md "Values Intercom would not accept".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from assets.push.plan import FieldSpec
from resources.state.store import SyncError

MAX_STRING = 255
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# One @, something before it, a dotted domain after it, no spaces: what Intercom accepts as an email.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
SHOWN = 40  # characters of an offending value quoted in the message


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 1] + "…")


def _where(frame: pd.DataFrame, key: str, mask: pd.Series, values: pd.Series) -> list[tuple[str, object]]:
    return list(zip(frame[key][mask].astype(str), values[mask], strict=True))


def _rejections(frame: pd.DataFrame, key: str, spec: FieldSpec) -> list[tuple[str, str, str]]:
    """(record, code, message) for each value of this field Intercom would not take as it is."""
    column = frame[spec.column]
    out: list[tuple[str, str, str]] = []
    if spec.data_type == "string":
        text = column.astype("string").str.strip()
        for record, value in _where(frame, key, (text.str.len() > MAX_STRING).fillna(False), text):
            message = (
                f"{spec.key} is {len(str(value))} characters; Intercom keeps at most {MAX_STRING} and revsync "
                "never cuts a value: fix it at the source"
            )
            out.append((record, "value_too_long", message))
        if spec.key == "email":
            malformed = text.notna() & (text != "") & ~text.fillna("").str.fullmatch(EMAIL)
            for record, value in _where(frame, key, malformed.fillna(False), text):
                out.append((record, "invalid_email", f"email {_shown(value)} is not a valid email address"))
    elif spec.data_type == "integer":
        numbers = pd.to_numeric(column, errors="coerce").astype("Float64")
        if spec.key == "monthly_spend":
            numbers = np.floor(numbers + 0.5)  # type: ignore[assignment]  # pandas-stubs: a ufunc on a Series is a Series
        low = 0 if spec.key == "monthly_spend" else INT_MIN
        outside = (numbers.notna() & ((numbers < low) | (numbers > INT_MAX))).fillna(False)
        for record, value in _where(frame, key, outside, column):
            message = f"{spec.key} {value} is outside the range Intercom accepts ({low} to {INT_MAX}); never capped"
            out.append((record, "value_out_of_range", message))
    return out


def reject_unacceptable(
    frame: pd.DataFrame, key: str, fields: Sequence[FieldSpec], model: str
) -> tuple[pd.DataFrame, list[SyncError]]:
    """The records Intercom can take unchanged, and one SyncError per refused field value."""
    errors = [
        SyncError(model, record, spec.key, None, code, message, None)
        for spec in fields
        for record, code, message in _rejections(frame, key, spec)
    ]
    refused = {e.record_key for e in errors}
    return frame[~frame[key].astype(str).isin(refused)], errors
