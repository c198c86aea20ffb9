"""Reverse-ETL assets: revsync's attributes, companies and contacts in Intercom.

Run config (`IntercomPushConfig`, the same on all three assets): `dry_run`, `full_resync`,
`max_error_rate`. The attribute prefix is a deployment setting on `IntercomResource`, so every
asset writes the same names. Resource keys: `intercom` (IntercomResource), `state`
(StateStoreResource). All three run in the `intercom_api` pool, so no two runs write at once.
"""

import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.attributes import AttributeSpec
from assets.metadata import sync_errors_table, table
from assets.plays.attributes import sync_catalog
from assets.plays.load import PlaysFileError, configured_plays
from assets.plays.update import MembershipUpdate
from assets.push.plan import KEPT_ROWS, PLAN_COLUMNS, PlanSummary
from assets.push.runner import PushFailed, PushOptions, PushRun, PushSummary, check_error_rate
from assets.push.schema import AttributeSchemaError, SchemaPlan
from assets.push.service import ensure_attributes, push_companies, push_contacts
from resources.intercom import IntercomClient, IntercomResource
from resources.settings import SyncSettings
from resources.state import StateStoreResource

SAMPLE_ROWS = 20
PLAN_TABLE_ROWS = KEPT_ROWS  # 500: what a PlanSummary keeps
# The UI shows an Intercom asset overdue when its last successful push is older than this.
PUSH_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=float(os.environ.get("REVSYNC_PUSH_FRESHNESS_HOURS", "26")))
)
COMMON: dict[str, Any] = {
    "group_name": "push",
    "kinds": {"intercom"},
    "pool": "intercom_api",
    "freshness_policy": PUSH_FRESHNESS,
}
# By key, not by import: the plays' assets module loads statsmodels, which the push never needs.
MEMBERSHIP_HISTORY = dg.AssetKey("membership_history")


# By key: the pool guard (assets/pool) frees slots of dead runs before any Intercom write.
INTERCOM_API_POOL = dg.AssetKey("intercom_api_pool")


class IntercomPushConfig(dg.Config):
    full_resync: bool = Field(
        default=False, description="Ignore the last pushed values: send every value and clear every empty one."
    )
    max_error_rate: float = Field(
        default=0.05, ge=0, le=1, description="Fail the run when more records than this share fail."
    )
    progress_interval_s: float = Field(default=5.0, gt=0, description="Seconds between progress log lines.")

    def options(self, intercom: IntercomResource) -> PushOptions:
        return PushOptions(
            full_resync=self.full_resync,
            attribute_prefix=intercom.attribute_prefix,
            max_error_rate=self.max_error_rate,
            progress_interval_s=self.progress_interval_s,
        )


def _catalog(settings: SyncSettings) -> list[AttributeSpec]:
    """The attributes group's catalog plus the plays' segment and tier attributes (plays.yaml)."""
    try:
        plays = configured_plays(settings.plays_file, settings.usage_metrics)
    except PlaysFileError as exc:
        raise dg.Failure(description=str(exc)) from exc
    return sync_catalog(settings.usage_metrics, plays)


def push_metadata(summary: PushSummary, plan: PlanSummary, dry_run: bool) -> dict[str, Any]:
    """The headline figures of a push (described in docs/push.md, "Metadata of a run")."""
    sample = pd.DataFrame(plan.table_rows(SAMPLE_ROWS), columns=PLAN_COLUMNS)
    metadata: dict[str, Any] = {
        "dagster/row_count": plan.total,
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "failed": summary.failed,
        "error_rate_percent": round(100 * summary.error_rate, 2),
        "attributes_written": summary.attributes_written,
        "cleared": summary.cleared,
        "requests": summary.requests,
        "rate_limited": summary.rate_limited,
        "duration_s": summary.duration_s,
        "cpu_s": summary.cpu_s,
        "plan_sample": dg.MetadataValue.md(sample.to_markdown(index=False) if len(sample) else "_nothing to send_"),
    }
    if plan.model == "contact":
        metadata.update(attached=summary.attached, detached=summary.detached, adopted=summary.adopted)
    if dry_run:
        metadata.update({f"planned_{k}": v for k, v in plan.counts().items() if k not in ("records", "unchanged")})
        metadata["plan"] = table(plan.table_rows(PLAN_TABLE_ROWS), PLAN_COLUMNS)
    if summary.errors:
        metadata["failures"] = sync_errors_table(summary.errors)
    return metadata


# `push_companies` and `push_contacts`: (the run's shared parts, the records).
Push = Callable[[PushRun, pd.DataFrame], Awaitable[tuple[PushSummary, PlanSummary]]]


def _push(
    push: Push,
    records: pd.DataFrame,
    context: dg.AssetExecutionContext,
    config: IntercomPushConfig,
    intercom: IntercomResource,
    state: StateStoreResource,
    settings: SyncSettings,
) -> dg.MaterializeResult:
    """One push (companies or contacts) on a client of its own; its summary becomes the metadata."""
    options = config.options(intercom)
    summary, plan = intercom.run_with_client(
        lambda client: push(
            PushRun(client, state.store, _catalog(settings), options, context.run.run_id, context.log), records
        )
    )
    return _result(summary, plan, options)


def _result(summary: PushSummary, plan: PlanSummary, options: PushOptions) -> dg.MaterializeResult:
    metadata = push_metadata(summary, plan, dry_run=False)
    try:
        check_error_rate(summary, options.max_error_rate)
    except PushFailed as exc:
        raise dg.Failure(description=str(exc), metadata=metadata) from exc
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(**COMMON, deps=["contact_attributes", "company_attributes", INTERCOM_API_POOL])
def intercom_data_attributes(
    context: dg.AssetExecutionContext, config: IntercomPushConfig, intercom: IntercomResource, settings: SyncSettings
) -> dg.MaterializeResult:
    """Every custom attribute in the catalog exists in Intercom on the right model with the right type.

    Missing ones are created (archived ones unarchived). A type conflict, a name taken on the other
    model, a `stripe_*` name or too few of the 250 slots fails here, before any contact is touched.
    It waits for the contact and company frames, so their blocking checks gate every Intercom write.
    Metadata: `attributes`, `present`, `created`, `unarchived`, `slots_left`.
    """
    options = config.options(intercom)
    specs = _catalog(settings)
    try:
        plan = intercom.run_with_client(lambda client: ensure_attributes(client, specs, options, context.log))
    except AttributeSchemaError as exc:
        raise dg.Failure(description=str(exc)) from exc
    return dg.MaterializeResult(metadata=attribute_metadata(plan, len(specs), dry_run=False))


def attribute_metadata(plan: SchemaPlan, attributes: int, dry_run: bool) -> dict[str, Any]:
    """The schema's headline figures; a dry run names what it would create and changes nothing."""
    made = 0 if dry_run else len(plan.to_create) + len(plan.to_unarchive)
    metadata: dict[str, Any] = {
        "attributes": attributes,
        "present": len(plan.present),
        "created": 0 if dry_run else len(plan.to_create),
        "unarchived": 0 if dry_run else len(plan.to_unarchive),
        "slots_left": plan.slots_left - made,
    }
    if dry_run:
        metadata["to_create"] = dg.MetadataValue.json([named.name for named in plan.to_create])
    return metadata


@dg.asset(**COMMON, deps=[intercom_data_attributes, MEMBERSHIP_HISTORY])
def intercom_companies(
    context: dg.AssetExecutionContext,
    config: IntercomPushConfig,
    intercom: IntercomResource,
    state: StateStoreResource,
    settings: SyncSettings,
    company_attributes: pd.DataFrame,
    segment_membership: MembershipUpdate,
) -> dg.MaterializeResult:
    """Accounts as Intercom companies: upsert by `company_id`, only changed fields, empty ones cleared.

    Tier and company-segment attributes come from `segment_membership` (plays.yaml). `monthly_spend`
    is rounded half up to a whole unit. Records that fail land in `sync_errors`.
    Metadata (docs/push.md, "Metadata of a real run"): `created`, `updated`, `unchanged`, `failed`,
    `error_rate_percent`, `attributes_written`, `cleared`, `requests`, `rate_limited`, `duration_s`,
    and `plan_sample` (`attribute: old → new`).
    """
    records = segment_membership.join(company_attributes, "company")
    return _push(push_companies, records, context, config, intercom, state, settings)


@dg.asset(**COMMON, deps=[intercom_data_attributes, intercom_companies, MEMBERSHIP_HISTORY])
def intercom_contacts(
    context: dg.AssetExecutionContext,
    config: IntercomPushConfig,
    intercom: IntercomResource,
    state: StateStoreResource,
    settings: SyncSettings,
    contact_attributes: pd.DataFrame,
    segment_membership: MembershipUpdate,
) -> dg.MaterializeResult:
    """Users as Intercom contacts keyed by `external_id`, attached to their company.

    Segment attributes come from `segment_membership` (plays.yaml). Only changed attributes are
    sent; state is recorded after Intercom confirms. Identity rules
    (409 recovery, leads, shared and changed emails) are in docs/push.md. Metadata: as
    `intercom_companies`, plus `attached`, `detached` (company attachments) and `adopted` (leads).
    """
    records = segment_membership.join(contact_attributes, "contact")
    return _push(push_contacts, records, context, config, intercom, state, settings)


class PushPlanConfig(dg.Config):
    full_resync: bool = Field(default=False, description="Plan as if nothing had been pushed before.")


@dg.asset(
    group_name="push",
    kinds={"intercom"},
    owners=["team:revops"],
)
def intercom_push_plan(
    context: dg.AssetExecutionContext,
    config: PushPlanConfig,
    intercom: IntercomResource,
    state: StateStoreResource,
    settings: SyncSettings,
    contact_attributes: pd.DataFrame,
    company_attributes: pd.DataFrame,
    segment_membership: MembershipUpdate,
) -> dg.MaterializeResult:
    """The dry run: what the next push would send, computed and shown, nothing written.

    Reads Intercom's attribute schema and the state store, plans the attributes, companies and
    contacts exactly as the push would, and records the plan here; the Intercom assets are not
    materialized. Metadata: `attributes_to_create`, per model `<model>_creates`/`_updates`/
    `_attribute_values`/`_clears`/`_unchanged`, and `companies_plan`/`contacts_plan` tables of
    `attribute: old → new` changes (first 500). Run it with the `intercom_dry_run` job.
    """
    options = PushOptions(dry_run=True, full_resync=config.full_resync, attribute_prefix=intercom.attribute_prefix)
    specs = _catalog(settings)
    run_id = context.run.run_id
    companies_in = segment_membership.join(company_attributes, "company")
    contacts_in = segment_membership.join(contact_attributes, "contact")

    async def plan_all(client: IntercomClient) -> tuple[SchemaPlan, PlanSummary, PlanSummary]:
        attributes = await ensure_attributes(client, specs, options, context.log)
        run = PushRun(client, state.store, specs, options, run_id, context.log)
        _, companies = await push_companies(run, companies_in)
        _, contacts = await push_contacts(run, contacts_in)
        return attributes, companies, contacts

    attributes, companies, contacts = intercom.run_with_client(plan_all)
    metadata: dict[str, Any] = {
        "dagster/row_count": companies.planned + contacts.planned,
        "attributes_to_create": dg.MetadataValue.json([named.name for named in attributes.to_create]),
    }
    for name, plan in (("companies", companies), ("contacts", contacts)):
        counts = plan.counts()
        for key in ("creates", "updates", "attribute_values", "clears", "unchanged"):
            metadata[f"{name}_{key}"] = counts[key]
        metadata[f"{name}_plan"] = table(plan.table_rows(PLAN_TABLE_ROWS), PLAN_COLUMNS)
    return dg.MaterializeResult(metadata=metadata)
