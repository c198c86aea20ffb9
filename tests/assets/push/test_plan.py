"""The pure push plan: diffing, clearing, rounding, identity rules and the attribute schema check."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.attributes import AttributeSpec, catalog
from assets.push import AttributeSchemaError, plan_attribute_schema
from assets.push.plan import (
    PlanSummary,
    company_fields,
    contact_fields,
    identify,
    plan_companies,
    plan_contacts,
    round_monthly_spend,
)

SPECS = [
    AttributeSpec("plan", "contact", "string", ""),
    AttributeSpec("mrr", "contact", "float", ""),
    AttributeSpec("seat_count", "contact", "integer", ""),
    AttributeSpec("trial_end_at", "contact", "date", ""),
    AttributeSpec("cancel_at_period_end", "contact", "boolean", ""),
    AttributeSpec("account_mrr", "company", "float", ""),
]
FIELDS = contact_fields(SPECS)


def contacts(**overrides) -> pd.DataFrame:
    row = {
        "external_id": "u1",
        "email": "Ann@X.com",
        "name": "Ann",
        "company_id": "acc1",
        "signed_up_at": 1_700_000_000,
        "plan": "pro",
        "mrr": 49.99,
        "seat_count": 3,
        "trial_end_at": None,
        "cancel_at_period_end": False,
    }
    return pd.DataFrame([row | overrides])


def state_after(plan_frame: pd.DataFrame) -> pd.DataFrame:
    """The state a successful push of `plan_frame` leaves."""
    (record,) = plan_contacts(plan_frame, empty_state(), FIELDS).records
    row = {"intercom_id": "ic1", "email": record.desired["email"], "company_id": record.company_id}
    return pd.DataFrame([row | {"values": record.confirmed_values()}], index=pd.Index(["u1"], name="external_id"))


def empty_state() -> pd.DataFrame:
    return pd.DataFrame(columns=["intercom_id", "email", "company_id", "values"], index=pd.Index([], name="k"))


def test_create_sends_only_non_empty_values_and_attaches():
    (record,) = plan_contacts(contacts(), empty_state(), FIELDS).records
    assert record.action == "create" and record.attach and record.company_id == "acc1"
    assert record.changes == {
        "email": "Ann@X.com",
        "name": "Ann",
        "signed_up_at": 1_700_000_000,
        "custom_attributes.plan": "pro",
        "custom_attributes.mrr": 49.99,
        "custom_attributes.seat_count": 3,
        "custom_attributes.cancel_at_period_end": False,
    }


def test_unchanged_data_plans_nothing_and_email_case_is_not_a_change():
    state = state_after(contacts())
    plan = plan_contacts(contacts(email="ann@x.COM"), state, FIELDS)
    assert plan.records == [] and plan.unchanged == 1


def test_only_changed_attributes_and_clears_for_vanished_values():
    state = state_after(contacts())
    (record,) = plan_contacts(contacts(mrr=59.0, plan=None, name=None, email=None), state, FIELDS).records
    # email can't be unset in Intercom: an empty email leaves it alone.
    assert record.action == "update" and not record.attach
    assert record.changes == {"custom_attributes.mrr": 59.0, "custom_attributes.plan": None, "name": None}
    assert sorted(record.cleared) == ["custom_attributes.plan", "name"]


def test_company_move_detaches_the_old_one():
    state = state_after(contacts())
    (record,) = plan_contacts(contacts(company_id="acc2"), state, FIELDS).records
    assert (record.changes, record.attach, record.detach, record.previous_company_id) == ({}, True, True, "acc1")


def test_full_resync_sends_everything_and_clears_empties():
    state = state_after(contacts())
    (record,) = plan_contacts(contacts(), state, FIELDS, full_resync=True).records
    assert record.changes["custom_attributes.trial_end_at"] is None and record.attach
    assert len(record.changes) == len(FIELDS)


def test_a_pending_create_is_looked_up_and_sent_whole():
    pending = pd.DataFrame(
        [{"intercom_id": None, "email": None, "company_id": None, "values": {}}], index=pd.Index(["u1"])
    )
    (record,) = plan_contacts(contacts(), pending, FIELDS).records
    assert record.action == "resolve" and record.changes["custom_attributes.trial_end_at"] is None


def test_normalisation_rounds_strips_and_types():
    frame = contacts(
        mrr="12.3456789", seat_count=2.6, name=" " + "x" * 255 + " ", plan="  ", trial_end_at=pd.Timestamp(0)
    )
    (record,) = plan_contacts(frame, empty_state(), FIELDS).records
    assert record.desired["custom_attributes.mrr"] == 12.345679
    assert record.desired["custom_attributes.seat_count"] == 3
    assert record.desired["name"] == "x" * 255
    assert record.desired["custom_attributes.plan"] is None
    assert record.desired["custom_attributes.trial_end_at"] == 0


def test_monthly_spend_rounds_half_up_and_is_never_capped():
    rounded = round_monthly_spend(pd.Series([155.98, 155.5, 155.49, None, 3e10])).tolist()
    assert rounded == [156, 156, 155, pd.NA, 30_000_000_000]  # unknown stays unknown, never a made-up 0


def test_companies_upsert_with_changed_fields_only():
    fields = company_fields(SPECS)
    frame = pd.DataFrame(
        [{"company_id": "acc1", "name": "Acme", "remote_created_at": 1, "plan": "pro", "monthly_spend": 99.5}]
    ).assign(account_mrr=99.5)
    (created,) = plan_companies(frame, empty_state(), fields).records
    assert created.changes["monthly_spend"] == 100 and created.action == "create"
    state = pd.DataFrame([{"intercom_id": "co1", "values": created.confirmed_values()}], index=pd.Index(["acc1"]))
    (updated,) = plan_companies(frame.assign(account_mrr=None, plan=None), state, fields).records
    assert updated.changes == {"custom_attributes.account_mrr": None}


def test_a_plan_summary_of_chunks_counts_and_shows_what_one_plan_does():
    frame = pd.concat([contacts(external_id=f"u{i}", mrr=float(i)) for i in range(7)], ignore_index=True)
    state = state_after(contacts()).rename(index={"u1": "u3"})  # u3 stored as pushed with mrr 49.99
    whole = plan_contacts(frame, state, FIELDS)
    one, chunked = PlanSummary("contact", kept=5), PlanSummary("contact", kept=5)
    one.add(whole)
    for start in range(0, 7, 3):
        chunk = frame.iloc[start : start + 3]
        chunked.add(plan_contacts(chunk, state[state.index.isin(chunk["external_id"])], FIELDS))
    assert chunked.counts() == one.counts() == whole.counts()
    assert (chunked.total, chunked.planned, chunked.unchanged) == (7, 7, 0)
    assert chunked.table_rows() == one.table_rows() and len(chunked.table_rows()) == 5  # the first `kept`
    assert [r["key"] for r in chunked.table_rows(2)] == ["u0", "u1"]
    assert chunked.table_rows()[3]["changes"] == "mrr: 49.99 → 3.0"
    assert PlanSummary("company").counts()["records"] == 0


def test_input_contract_is_checked():
    with pytest.raises(ValueError, match="lacks columns"):
        plan_contacts(contacts().drop(columns=["mrr"]), empty_state(), FIELDS)
    with pytest.raises(ValueError, match="unique"):
        plan_contacts(pd.concat([contacts(), contacts()]), empty_state(), FIELDS)


def test_identity_rules():
    assert identify({"external_id": "u1", "role": "user"}, "u1", "a@x.com") == "same"
    assert identify({"external_id": None, "role": "lead", "email": "A@X.com"}, "u1", "a@x.com") == "adopt"
    assert identify({"external_id": None, "role": "user", "email": "a@x.com"}, "u1", "a@x.com") == "adopt"
    assert identify({"external_id": "u2", "role": "user", "email": "a@x.com"}, "u1", "a@x.com") == "other_contact"
    assert identify({"external_id": None, "role": "lead", "email": "b@x.com"}, "u1", "a@x.com") == "other_contact"


def _attribute(name: str, model: str, data_type: str, archived: bool = False, custom: bool = True) -> dict:
    return {"name": name, "model": model, "data_type": data_type, "custom": custom, "archived": archived, "id": 7}


def test_schema_plan_creates_missing_and_unarchives():
    existing = [_attribute("plan", "contact", "string"), _attribute("mrr", "contact", "float", archived=True)]
    plan = plan_attribute_schema(SPECS, existing)
    assert [n.name for n in plan.to_create] == ["seat_count", "trial_end_at", "cancel_at_period_end", "account_mrr"]
    assert [n.name for n, _ in plan.to_unarchive] == ["mrr"] and plan.problems == []


def test_schema_conflicts_are_reported_together():
    existing = [_attribute("rs_mrr", "contact", "string"), _attribute("rs_plan", "company", "string")]
    plan = plan_attribute_schema(SPECS, existing, prefix="rs_")
    assert len(plan.problems) == 2
    assert "already exists on the company model" in plan.problems[0]
    assert "is string in Intercom, revsync writes float" in plan.problems[1]
    with pytest.raises(AttributeSchemaError, match="no contact or company was touched"):
        plan.raise_for_problems()


def test_schema_cap_names_slots_left_and_attributes_needing_them():
    existing = [_attribute(f"other_{i}", "contact", "string") for i in range(248)]
    plan = plan_attribute_schema(SPECS, existing)
    (problem,) = plan.problems
    assert "6 custom attributes are needed but only 2 of 250 slots are left" in problem
    assert "seat_count" in problem and "account_mrr" in problem


def test_schema_refuses_reserved_stripe_names():
    plan = plan_attribute_schema(catalog()[:1], [], prefix="stripe_")
    assert "Stripe app" in plan.problems[0]
