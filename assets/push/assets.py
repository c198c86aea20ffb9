"""Reverse-ETL assets: revsync's attributes, companies and contacts in Intercom.

Run config (`IntercomPushConfig`, the same on all three assets): `dry_run`, `full_resync`,
`max_error_rate`. The attribute prefix is a deployment setting on `IntercomResource`, so every
asset writes the same names. Resource keys: `intercom` (IntercomResource), `state`
(StateStoreResource). All three run in the `intercom_api` pool, so no two runs write at once.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.attributes.catalog import catalog
from assets.metadata import sync_errors_table, table
from assets.pool.assets import intercom_api_pool
from assets.push.plan import PushPlan
from assets.push.schema import AttributeSchemaError
from assets.push.service import (
    PushFailed,
    PushOptions,
    PushSummary,
    check_error_rate,
    ensure_attributes,
    push_companies,
    push_contacts,
)
from resources.intercom.client import IntercomClient
from resources.intercom.resource import IntercomResource
from resources.settings import SyncSettings
from resources.state.store import StateStoreResource

T = TypeVar("T")
SAMPLE_ROWS = 20
PLAN_TABLE_ROWS = 500
COMMON = {"group_name": "push", "kinds": {"intercom"}, "pool": "intercom_api"}


class IntercomPushConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Plan everything, send no write, record no state.")
    full_resync: bool = Field(
        default=False, description="Ignore the last pushed values: send every value and clear every empty one."
    )
    max_error_rate: float = Field(
        default=0.05, ge=0, le=1, description="Fail the run when more records than this share fail."
    )
    progress_interval_s: float = Field(default=5.0, gt=0, description="Seconds between progress log lines.")

    def options(self, intercom: IntercomResource) -> PushOptions:
        return PushOptions(
            dry_run=self.dry_run,
            full_resync=self.full_resync,
            attribute_prefix=intercom.attribute_prefix,
            max_error_rate=self.max_error_rate,
            progress_interval_s=self.progress_interval_s,
        )


def _with_client(intercom: IntercomResource, work: Callable[[IntercomClient], Awaitable[T]]) -> T:
    async def run() -> T:
        async with intercom.open_client() as client:
            return await work(client)

    return asyncio.run(run())


def _metadata(summary: PushSummary, plan: PushPlan, dry_run: bool) -> dict[str, Any]:
    counts = {f"plan_{k}": v for k, v in plan.counts().items()}
    sample = pd.DataFrame(plan.table_rows(SAMPLE_ROWS), columns=["key", "action", "set", "clear", "attach", "detach"])
    metadata: dict[str, Any] = {
        **counts,
        **summary.counts(),
        "dry_run": dry_run,
        "dagster/row_count": plan.total,
        "plan_sample": dg.MetadataValue.md(sample.to_markdown(index=False) if len(sample) else "_nothing to send_"),
    }
    if dry_run:
        rows = plan.table_rows(PLAN_TABLE_ROWS)
        metadata["plan"] = table(rows, ["key", "action", "set", "clear", "attach", "detach"])
    if summary.errors:
        metadata["failures"] = sync_errors_table(summary.errors)
    return metadata


def _result(summary: PushSummary, plan: PushPlan, options: PushOptions, extra: dict[str, int]) -> dg.MaterializeResult:
    metadata = {**extra, **_metadata(summary, plan, options.dry_run)}
    try:
        check_error_rate(summary, options.max_error_rate)
    except PushFailed as exc:
        raise dg.Failure(description=str(exc), metadata=metadata) from exc
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(**COMMON, deps=[intercom_api_pool])
def intercom_data_attributes(
    context: dg.AssetExecutionContext, config: IntercomPushConfig, intercom: IntercomResource, settings: SyncSettings
) -> dg.MaterializeResult:
    """Every custom attribute in the catalog exists in Intercom on the right model with the right type.

    Missing ones are created (archived ones unarchived). A type conflict, a name taken on the other
    model, a `stripe_*` name or too few of the 250 slots fails here, before any contact is touched.
    """
    options = config.options(intercom)
    specs = catalog(settings.usage_metrics)
    try:
        plan = _with_client(intercom, lambda client: ensure_attributes(client, specs, options, context.log))
    except AttributeSchemaError as exc:
        raise dg.Failure(description=str(exc)) from exc
    return dg.MaterializeResult(
        metadata={
            "dry_run": options.dry_run,
            "attributes": len(specs),
            "present": len(plan.present),
            "created": 0 if options.dry_run else len(plan.to_create),
            "to_create": dg.MetadataValue.json([n.name for n in plan.to_create]),
            "unarchived": 0 if options.dry_run else len(plan.to_unarchive),
            "slots_left": plan.slots_left - (0 if options.dry_run else len(plan.to_create) + len(plan.to_unarchive)),
        }
    )


@dg.asset(**COMMON, deps=[intercom_data_attributes])
def intercom_companies(
    context: dg.AssetExecutionContext,
    config: IntercomPushConfig,
    intercom: IntercomResource,
    state: StateStoreResource,
    settings: SyncSettings,
    company_attributes: pd.DataFrame,
) -> dg.MaterializeResult:
    """Accounts as Intercom companies: upsert by `company_id`, only changed fields, empty ones cleared.

    `monthly_spend` is rounded half up to a whole unit. Records that fail land in `sync_errors`.
    """
    options = config.options(intercom)
    summary, plan = _with_client(
        intercom,
        lambda client: push_companies(
            client,
            state.store,
            company_attributes,
            catalog(settings.usage_metrics),
            options,
            context.run.run_id,
            context.log,
        ),
    )
    extra = {"companies_upserted": summary.created + summary.updated}
    return _result(summary, plan, options, extra)


@dg.asset(**COMMON, deps=[intercom_data_attributes, intercom_companies])
def intercom_contacts(
    context: dg.AssetExecutionContext,
    config: IntercomPushConfig,
    intercom: IntercomResource,
    state: StateStoreResource,
    settings: SyncSettings,
    contact_attributes: pd.DataFrame,
) -> dg.MaterializeResult:
    """Users as Intercom contacts keyed by `external_id`, attached to their company.

    Only changed attributes are sent; state is recorded after Intercom confirms. Identity rules
    (409 recovery, leads, shared and changed emails) are in docs/push.md.
    """
    options = config.options(intercom)
    summary, plan = _with_client(
        intercom,
        lambda client: push_contacts(
            client,
            state.store,
            contact_attributes,
            catalog(settings.usage_metrics),
            options,
            context.run.run_id,
            context.log,
        ),
    )
    extra = {"contacts_created": summary.created, "contacts_updated": summary.updated}
    return _result(summary, plan, options, extra)
