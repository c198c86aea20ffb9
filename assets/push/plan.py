"""What the push must send: the desired frames diffed against the last confirmed state. Pure.

Values are normalised to what Intercom stores (see docs/push.md): strings stripped ("" counts as
empty), integers and dates as int (dates are Unix seconds), floats rounded to 6 decimals, booleans
as bool, and `monthly_spend` rounded half up to a whole unit (no spend = 0). Values Intercom would
not take as they are (over 255 characters, out of range) never reach the plan (acceptable.py).

Empty is `None`: a custom attribute or a contact's name that becomes empty is cleared by sending
`null`; standard fields that Intercom cannot unset (email, signed_up_at, the company's name, plan
and remote_created_at) are left as they are.

The state holds only non-empty values, so "absent" means "Intercom has no value". The diff is one
vectorised comparison per frame; Python loops run only over records that need a call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from assets.attributes import AttributeSpec, DataType, Model

CUSTOM = "custom_attributes."

Action = Literal["create", "update", "resolve"]
Identity = Literal["same", "adopt", "other_contact"]


@dataclass(frozen=True)
class FieldSpec:
    column: str  # column of the desired frame
    key: str  # key in the state and in the request: "email" or "custom_attributes.<name>"
    data_type: DataType
    clearable: bool = True

    @property
    def custom(self) -> bool:
        return self.key.startswith(CUSTOM)


def _custom_fields(specs: Sequence[AttributeSpec], model: Model, prefix: str) -> list[FieldSpec]:
    return [FieldSpec(s.name, CUSTOM + s.full_name(prefix), s.data_type) for s in specs if s.model == model]


def contact_fields(specs: Sequence[AttributeSpec], prefix: str = "") -> list[FieldSpec]:
    return [
        FieldSpec("email", "email", "string", clearable=False),
        FieldSpec("name", "name", "string"),
        FieldSpec("signed_up_at", "signed_up_at", "date", clearable=False),
        *_custom_fields(specs, "contact", prefix),
    ]


def company_fields(specs: Sequence[AttributeSpec], prefix: str = "") -> list[FieldSpec]:
    return [
        FieldSpec("name", "name", "string", clearable=False),
        FieldSpec("plan", "plan", "string", clearable=False),
        FieldSpec("remote_created_at", "remote_created_at", "date", clearable=False),
        FieldSpec("monthly_spend", "monthly_spend", "integer", clearable=False),
        *_custom_fields(specs, "company", prefix),
    ]


# -- normalisation ----------------------------------------------------------------------------
def _as_objects(values: pd.Series) -> pd.Series:
    """Python scalars, None for empty: what JSON round-trips through the state store."""
    objects = values.astype(object)
    return objects.where(values.notna(), None)


def round_monthly_spend(values: pd.Series) -> pd.Series:
    """Half up to a whole unit (Intercom would truncate); the range is checked before (acceptable.py).

    Empty stays empty: it means the MRR is unknown (e.g. no exchange rate), and monthly_spend cannot
    be cleared, so nothing is sent. An account with no MRR arrives as an explicit 0.
    """
    amounts = pd.to_numeric(values, errors="raise").astype("Float64")
    # pandas-stubs type a ufunc on a Series as an ndarray; pandas returns the Series.
    return np.floor(amounts + 0.5).astype("Int64")  # type: ignore[return-value]


def _normalise(column: pd.Series, spec: FieldSpec) -> pd.Series:
    if spec.key == "monthly_spend":
        return _as_objects(round_monthly_spend(column))
    if spec.data_type == "string":
        text = column.astype("string").str.strip()
        return _as_objects(text.mask(text == ""))
    if spec.data_type in ("integer", "date"):
        if pd.api.types.is_datetime64_any_dtype(column):
            column = column.astype("int64").floordiv(10**9).where(column.notna())
        return _as_objects(pd.to_numeric(column, errors="raise").round().astype("Int64"))
    if spec.data_type == "float":
        return _as_objects(pd.to_numeric(column, errors="raise").astype("Float64").round(6))
    return _as_objects(column.astype("boolean"))


def check_input(frame: pd.DataFrame, key: str, fields: Sequence[FieldSpec]) -> None:
    """Raise ValueError unless the frame has every field's column and a present, unique key."""
    missing = [c for c in [key, *(f.column for f in fields)] if c not in frame.columns]
    if missing:
        raise ValueError(f"input frame lacks columns {missing}")
    keys = frame[key].astype("string")
    if keys.isna().any() or keys.duplicated().any():
        raise ValueError(f"`{key}` must be present and unique; duplicates: {keys[keys.duplicated()].head(5).tolist()}")


def desired_values(frame: pd.DataFrame, key: str, fields: Sequence[FieldSpec]) -> pd.DataFrame:
    """One row per record (index = key), one column per field key, normalised values."""
    check_input(frame, key, fields)
    keys = frame[key].astype("string").astype(object)
    data = {f.key: _normalise(frame[f.column], f).to_numpy() for f in fields}
    return pd.DataFrame(data, index=pd.Index(keys, name=key), dtype=object)


def last_values(state: pd.DataFrame, desired: pd.DataFrame) -> pd.DataFrame:
    """The state's value dicts as a frame aligned with `desired` (NaN = no value)."""
    known = state["values"].reindex(desired.index) if len(state) else pd.Series(None, index=desired.index)
    records = [v if isinstance(v, dict) else {} for v in known.tolist()]
    frame = pd.DataFrame.from_records(records, index=desired.index, columns=list(desired.columns))
    return frame.astype(object)


def changed_mask(
    desired: pd.DataFrame, last: pd.DataFrame, case_insensitive: Sequence[str] = ("email",)
) -> pd.DataFrame:
    """True where the desired value differs from the last confirmed one (empty == absent)."""
    d, l_ = desired.copy(), last.copy()
    for column in case_insensitive:
        if column in d.columns:
            d[column] = d[column].astype("string").str.lower().astype(object)
            l_[column] = l_[column].astype("string").str.lower().astype(object)
    d_empty, l_empty = d.isna(), l_.isna()
    same = (d_empty & l_empty) | (~d_empty & ~l_empty & (d == l_.where(~l_empty, "")).to_numpy())
    return ~same


# -- plans ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordPlan:
    """One record needing at least one call. `changes` maps field keys to values (None = clear)."""

    key: str
    action: Action
    intercom_id: str | None
    changes: dict[str, Any]
    desired: dict[str, Any]
    company_id: str | None = None  # contacts: the company it should belong to
    attach: bool = False
    previous_company_id: str | None = None  # contacts: the company recorded as attached
    detach: bool = False
    previous: dict[str, Any] = field(default_factory=dict)  # last confirmed value of each changed field

    @property
    def cleared(self) -> list[str]:
        return [k for k, v in self.changes.items() if v is None]

    def confirmed_values(self) -> dict[str, Any]:
        """What Intercom holds after the write succeeds (non-empty values only)."""
        return {k: v for k, v in self.desired.items() if v is not None}


def body(values: dict[str, Any]) -> dict[str, Any]:
    """A request body: standard fields at the top, custom ones under `custom_attributes`."""
    out: dict[str, Any] = {}
    custom = {k.removeprefix(CUSTOM): v for k, v in values.items() if k.startswith(CUSTOM)}
    out.update({k: v for k, v in values.items() if not k.startswith(CUSTOM)})
    if custom:
        out["custom_attributes"] = custom
    return out


def full_values(desired: dict[str, Any], fields: Sequence[FieldSpec]) -> dict[str, Any]:
    """Everything, clears included: for a record whose Intercom side is unknown."""
    clearable = {f.key for f in fields if f.clearable}
    return {k: v for k, v in desired.items() if v is not None or k in clearable}


@dataclass
class PushPlan:
    """The plan of one chunk of records (a push plans chunk by chunk: `PlanSummary` adds them up)."""

    model: Model
    total: int
    records: list[RecordPlan] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.total - len(self.records)

    def counts(self) -> dict[str, int]:
        by_action = {a: sum(r.action == a for r in self.records) for a in ("create", "update", "resolve")}
        return {
            "records": self.total,
            "unchanged": self.unchanged,
            "creates": by_action["create"],
            "updates": sum(r.action == "update" and bool(r.changes) for r in self.records),
            "lookups": by_action["resolve"],
            "attribute_values": sum(sum(k.startswith(CUSTOM) for k in r.changes) for r in self.records),
            "clears": sum(len(r.cleared) for r in self.records),
            "attaches": sum(r.attach for r in self.records),
            "detaches": sum(r.detach for r in self.records),
        }


KEPT_ROWS = 500  # planned records a PlanSummary keeps as table rows (the dry run's plan table)


@dataclass
class PlanSummary:
    """A whole push's plan without its records: the counts of every chunk's plan added up, and the
    first `kept` planned records as table rows (the plan sample and the dry run's plan table)."""

    model: Model
    kept: int = KEPT_ROWS
    _counts: dict[str, int] = field(default_factory=dict, repr=False)
    _rows: list[dict[str, str]] = field(default_factory=list, repr=False)

    def add(self, plan: PushPlan) -> None:
        for name, count in plan.counts().items():
            self._counts[name] = self._counts.get(name, 0) + count
        self._rows.extend(table_row(r) for r in plan.records[: self.kept - len(self._rows)])

    @property
    def total(self) -> int:
        return self.counts()["records"]

    @property
    def unchanged(self) -> int:
        return self.counts()["unchanged"]

    @property
    def planned(self) -> int:
        """Records needing at least one call."""
        return self.total - self.unchanged

    def counts(self) -> dict[str, int]:
        return self._counts or PushPlan(self.model, 0).counts()

    def table_rows(self, limit: int | None = None) -> list[dict[str, str]]:
        """The first planned records (at most `kept`), in input order, one row each."""
        return self._rows[:limit]


def table_row(record: RecordPlan) -> dict[str, str]:
    """A planned record for the plan sample and the dry-run plan table: each change as
    `attribute: old → new` (∅ = no value, so `x: 5 → ∅` is a clear)."""
    changes = "; ".join(
        f"{k.removeprefix(CUSTOM)}: {_shown(record.previous.get(k))} → {_shown(v)}" for k, v in record.changes.items()
    )
    return {
        "key": record.key,
        "action": record.action,
        "changes": changes,
        "attach": (record.company_id or "") if record.attach else "",
        "detach": (record.previous_company_id or "") if record.detach else "",
    }


PLAN_COLUMNS = ["key", "action", "changes", "attach", "detach"]


def _shown(value: Any) -> str:
    return "∅" if value is None else str(value)


def with_previous(records: list[RecordPlan], state: pd.DataFrame, desired: pd.DataFrame) -> list[RecordPlan]:
    """The records with the last confirmed value of each field they change (read for them only)."""
    if not records:
        return records
    last = last_values(state, desired.loc[[r.key for r in records]])
    rows = last.astype(object).where(last.notna(), None).to_dict("index")
    return [replace(r, previous={k: rows[r.key].get(k) for k in r.changes}) for r in records]


def _records_needing_calls(
    desired: pd.DataFrame, changed: pd.DataFrame, actions: pd.Series, ids: pd.Series, extra: pd.Series
) -> list[tuple[str, Action, str | None, dict[str, Any], dict[str, Any]]]:
    """(key, action, id, changes, desired) for every row with a change or another call to make."""
    needed = changed.any(axis=1) | (actions != "update") | extra
    columns = np.asarray(desired.columns)
    out = []
    for key, row_values, row_changed, action, intercom_id in zip(
        desired.index[needed],
        desired[needed].to_numpy(),
        changed[needed].to_numpy(),
        actions[needed],
        ids[needed],
        strict=True,
    ):
        values = dict(zip(columns, row_values, strict=True))
        changes = {c: values[c] for c in columns[row_changed]}
        out.append((key, action, intercom_id if isinstance(intercom_id, str) else None, changes, values))
    return out


def _actions_and_changes(
    desired: pd.DataFrame, state: pd.DataFrame, fields: Sequence[FieldSpec], full_resync: bool, pending_ok: bool
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    ids = state["intercom_id"].reindex(desired.index) if len(state) else pd.Series(None, index=desired.index)
    in_state = desired.index.isin(state.index)
    has_id = ids.notna().to_numpy()
    actions = pd.Series(
        np.where(has_id, "update", np.where(in_state & pending_ok, "resolve", "create")), index=desired.index
    )
    non_empty = desired.notna()
    changed = non_empty.copy() if full_resync else changed_mask(desired, last_values(state, desired))
    unclearable = [f.key for f in fields if not f.clearable]
    changed[unclearable] = changed[unclearable] & non_empty[unclearable]
    clearable = [f.key for f in fields if f.clearable]
    # A resolve or an update under full_resync sends every field, clears included.
    send_all = (actions == "resolve") | ((actions == "update") & full_resync)
    changed.loc[send_all, clearable] = True
    # A create has nothing to clear.
    changed.loc[actions == "create"] = non_empty.loc[actions == "create"]
    return actions, ids.astype(object), changed


def plan_companies(
    companies: pd.DataFrame, state: pd.DataFrame, fields: Sequence[FieldSpec], *, full_resync: bool = False
) -> PushPlan:
    """`POST /companies` upserts by company_id, so a create and an update are the same call."""
    desired = desired_values(companies, "company_id", fields)
    actions, ids, changed = _actions_and_changes(desired, state, fields, full_resync, pending_ok=False)
    no_extra = pd.Series(False, index=desired.index)
    plan = PushPlan(model="company", total=len(desired))
    for key, action, intercom_id, changes, values in _records_needing_calls(desired, changed, actions, ids, no_extra):
        plan.records.append(RecordPlan(key, action, intercom_id, changes, values))
    plan.records = with_previous(plan.records, state, desired)
    return plan


def plan_contacts(
    contacts: pd.DataFrame, state: pd.DataFrame, fields: Sequence[FieldSpec], *, full_resync: bool = False
) -> PushPlan:
    """Creates, updates and lookups (a create attempted before but never confirmed), plus attaches."""
    desired = desired_values(contacts, "external_id", fields)
    actions, ids, changed = _actions_and_changes(desired, state, fields, full_resync, pending_ok=True)
    company = _as_objects(contacts["company_id"].astype("string")).set_axis(desired.index)
    previous = (
        state["company_id"].reindex(desired.index) if len(state) else pd.Series(None, index=desired.index)
    ).astype(object)
    moved = company.fillna("__none__") != previous.fillna("__none__")
    attach = company.notna() & (moved | full_resync | (actions != "update"))
    detach = previous.notna() & moved & (actions == "update")
    plan = PushPlan(model="contact", total=len(desired))
    rows = _records_needing_calls(desired, changed, actions, ids, attach | detach)
    for key, action, intercom_id, changes, values in rows:
        plan.records.append(
            RecordPlan(
                key,
                action,
                intercom_id,
                changes,
                values,
                company_id=company[key],
                attach=bool(attach[key]),
                previous_company_id=previous[key] if isinstance(previous[key], str) else None,
                detach=bool(detach[key]),
            )
        )
    plan.records = with_previous(plan.records, state, desired)
    return plan


# -- identity ---------------------------------------------------------------------------------
def same_email(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().lower() == b.strip().lower()


def identify(existing: dict[str, Any], external_id: str, email: str | None) -> Identity:
    """Who an existing contact (named by a 409, or found as a lead) is to the record we write.

    same: our user (same external_id): update it. adopt: a contact with no external_id and our
    email, compared case-insensitively (a lead, or a user Intercom identified by email only): it is
    the same person, so it becomes our user instead of a duplicate. other_contact: anyone else
    (another user sharing the email): never overwritten.
    """
    if existing.get("external_id") == external_id:
        return "same"
    if not existing.get("external_id") and same_email(existing.get("email"), email):
        return "adopt"
    return "other_contact"
