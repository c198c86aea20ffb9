"""Carries out a push plan against Intercom: attribute schema, companies, contacts. No Dagster.

Each record is one coroutine step on a shared worker pool (assets/push/runner.py), a chunk of
records at a time; the transport's pacer keeps every kind of call inside one rate-limit window.
State is written only after Intercom confirms, in batches. Identity rules and crash safety are
described in docs/push.md.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from assets import Log
from assets.attributes import AttributeSpec
from assets.push.lookup import KnownContacts, lookup_identities
from assets.push.plan import (
    FieldSpec,
    PlanSummary,
    RecordPlan,
    body,
    company_fields,
    contact_fields,
    full_values,
    identify,
    plan_companies,
    plan_contacts,
)
from assets.push.runner import (
    Batcher,
    ChunkedPush,
    Handler,
    PushOptions,
    PushRun,
    PushSummary,
    RecordRejected,
    custom_count,
    sync_error,
)
from assets.push.schema import SchemaPlan, plan_attribute_schema
from resources.intercom.client import IntercomClient
from resources.intercom.errors import ContactConflict, IntercomAPIError
from resources.state.store import CompanyState, ContactState, StateStore


def merged_into(exc: IntercomAPIError) -> str | None:
    """The surviving contact's id when Intercom answers 410 Gone for a merged contact (2.16 `Link`)."""
    found = re.search(r"/contacts/([^/>;\s]+)>", exc.link or "") if exc.status == 410 else None
    return found.group(1) if found else None


# -- attribute schema -------------------------------------------------------------------------
async def ensure_attributes(
    client: IntercomClient, specs: Sequence[AttributeSpec], options: PushOptions, log: Log
) -> SchemaPlan:
    """Create (or unarchive) what is missing; raise AttributeSchemaError before any record is written."""
    existing = [*await client.list_data_attributes("contact"), *await client.list_data_attributes("company")]
    plan = plan_attribute_schema(specs, existing, options.attribute_prefix)
    plan.raise_for_problems()
    if options.dry_run:
        return plan
    calls = [client.unarchive_data_attribute(attribute_id) for _, attribute_id in plan.to_unarchive]
    calls += [
        client.create_data_attribute(
            name=n.name, model=n.spec.model, data_type=n.spec.data_type, description=n.spec.description[:255]
        )
        for n in plan.to_create
    ]
    await asyncio.gather(*calls)
    log.info(f"intercom data attributes: {len(plan.to_create)} created, {len(plan.to_unarchive)} unarchived")
    return plan


# -- companies --------------------------------------------------------------------------------
async def push_companies(run: PushRun, companies: pd.DataFrame) -> tuple[PushSummary, PlanSummary]:
    """`POST /companies` (upsert on company_id) with the changed fields of each company."""
    fields = company_fields(run.specs, run.options.attribute_prefix)
    push = ChunkedPush(run, "company", companies, fields, plan_companies, run.store.load_companies)
    summary = push.summary
    saved = Batcher(run.store.save_companies, run.options.state_flush_every)

    async def handle(record: RecordPlan) -> None:
        try:
            company = await run.client.upsert_company({"company_id": record.key, **body(record.changes)})
        except IntercomAPIError as exc:
            summary.fail(sync_error("company", record.key, exc, None))
            return
        if record.action == "create":
            summary.created += 1
        else:
            summary.updated += 1
        summary.attributes_written += custom_count(record.changes)
        summary.cleared += len(record.cleared)
        saved.add(CompanyState(record.key, company["id"], record.confirmed_values()))

    async def prepare(records: Sequence[RecordPlan]) -> Handler:
        return handle

    return await push.carry_out(prepare, saved)


# -- contacts ---------------------------------------------------------------------------------
class _ContactWriter:
    """The identity rules for one contact record: update, look up, adopt, create, recover a 409."""

    def __init__(
        self, client: IntercomClient, fields: Sequence[FieldSpec], summary: PushSummary, known: KnownContacts
    ) -> None:
        self.client, self.fields, self.summary, self.known = client, fields, summary, known

    async def _put(self, contact_id: str, values: dict[str, Any], identity: dict[str, Any] | None = None) -> None:
        await self.client.update_contact(contact_id, {**(identity or {}), **body(values)})
        self.summary.updated += 1
        self.summary.attributes_written += custom_count(values)
        self.summary.cleared += sum(1 for v in values.values() if v is None)

    async def _put_or_follow(
        self, record: RecordPlan, contact_id: str, values: dict[str, Any], identity: dict[str, Any] | None = None
    ) -> str:
        """Write to `contact_id`; when it was merged (410 with a Link), write everything to the survivor."""
        try:
            await self._put(contact_id, values, identity)
            return contact_id
        except IntercomAPIError as exc:
            survivor = merged_into(exc)
            if survivor is None:
                raise
        existing = await self.client.get_contact(survivor)
        who = identify(existing, record.key, record.desired.get("email"))
        if who == "other_contact":
            raise RecordRejected(
                "identity_conflict",
                f"Intercom merged contact {contact_id} into {survivor} (external_id="
                f"{existing.get('external_id')!r}), which is someone else; it is left untouched",
                "email",
            )
        adopt = {"role": "user", "external_id": record.key} if who == "adopt" else None
        if adopt:
            self._claim(survivor, record)
        await self._put(survivor, full_values(record.desired, self.fields), adopt)
        return survivor

    def _claim(self, contact_id: str, record: RecordPlan) -> None:
        """Adopt `contact_id` for this record, unless another record of this push adopted it first."""
        if not self.known.claim(contact_id, record.desired.get("email")):
            raise RecordRejected(
                "identity_conflict",
                f"Intercom contact {contact_id} was adopted by another record of this run with the same "
                "email; it is left to that record",
                "email",
            )

    async def upsert(self, record: RecordPlan) -> str:
        """The Intercom id of the record's contact, after writing what changed."""
        if record.action == "update" and record.intercom_id is not None:
            if not record.changes:
                return record.intercom_id
            try:
                return await self._put_or_follow(record, record.intercom_id, record.changes)
            except IntercomAPIError as exc:
                if exc.status not in (404, 410):  # a contact deleted in Intercom: resolve again
                    raise
        everything = full_values(record.desired, self.fields)
        found = self.known.pop_same(record.key)
        if found is None and record.action != "create":  # the search may lag a create of minutes ago
            found = await self.client.find_contact_by_external_id(record.key)
        if found is not None:
            await self._put(found["id"], everything)
            return str(found["id"])
        lead = self.known.pop_adoptable(record.desired.get("email"))
        if lead is not None:
            contact_id = await self._put_or_follow(
                record, lead["id"], everything, {"role": "user", "external_id": record.key}
            )
            self.summary.adopted += 1
            return contact_id
        return await self._create(record, everything)

    async def _create(self, record: RecordPlan, everything: dict[str, Any]) -> str:
        non_empty = {k: v for k, v in record.desired.items() if v is not None}
        try:
            contact = await self.client.create_contact({"role": "user", "external_id": record.key, **body(non_empty)})
        except IntercomAPIError as exc:
            conflict = ContactConflict.parse(exc)
            if conflict is None:
                raise
            return await self._recover(record, conflict, everything)
        self.summary.created += 1
        self.summary.attributes_written += custom_count(non_empty)
        return str(contact["id"])

    async def _recover(self, record: RecordPlan, conflict: ContactConflict, everything: dict[str, Any]) -> str:
        existing = await self.client.get_contact(conflict.contact_id)
        who = identify(existing, record.key, record.desired.get("email"))
        if who == "other_contact":
            raise RecordRejected(
                "identity_conflict",
                f"Intercom contact {conflict.contact_id} (external_id={existing.get('external_id')!r}) holds this "
                "record's identity; it is left untouched",
                "email",
            )
        if conflict.archived:
            await self.client.unarchive_contact(conflict.contact_id)
        identity = {"role": "user", "external_id": record.key} if who == "adopt" else None
        if identity:
            self._claim(conflict.contact_id, record)
        await self._put(conflict.contact_id, everything, identity)
        self.summary.adopted += identity is not None
        return conflict.contact_id


async def _find_known(
    client: IntercomClient, records: Sequence[RecordPlan], per_filter: int, adopted: KnownContacts
) -> KnownContacts:
    """One batched search for what Intercom already holds of the records about to be created;
    `adopted` carries the push's adoptions so far (its `taken` and `claimed`)."""
    emails, external_ids = lookup_identities(records)
    found = await client.find_contacts(emails, external_ids, per_filter) if emails or external_ids else []
    return KnownContacts.from_search(found, adopted.taken, adopted.claimed)


async def push_contacts(run: PushRun, contacts: pd.DataFrame) -> tuple[PushSummary, PlanSummary]:
    """Upsert contacts by external_id and attach each to its company (after `push_companies`)."""
    client, store = run.client, run.store
    fields = contact_fields(run.specs, run.options.attribute_prefix)
    push = ChunkedPush(run, "contact", contacts, fields, plan_contacts, store.load_contacts)
    summary = push.summary
    company_ids = store.company_ids()
    adopted = KnownContacts()  # the run's adoptions (emails taken, contacts claimed), shared by its chunks
    saved = Batcher(store.save_contacts, run.options.state_flush_every)

    async def prepare(records: Sequence[RecordPlan]) -> Handler:
        """Before a chunk's calls: mark its creates pending, search for its new records."""
        new = [r for r in records if r.action != "update"]
        store.mark_pending_contacts(r.key for r in new if r.action == "create")
        known = await _find_known(client, new, run.options.lookup_values_per_filter, adopted)
        writer = _ContactWriter(client, fields, summary, known)

        async def handle(record: RecordPlan) -> None:
            try:
                contact_id = await writer.upsert(record)
            except (IntercomAPIError, RecordRejected) as exc:
                summary.fail(sync_error("contact", record.key, exc, None))
                return
            company = await _move_company(record, contact_id)
            saved.add(
                ContactState(record.key, contact_id, record.desired.get("email"), company, record.confirmed_values())
            )

        return handle

    async def _move_company(record: RecordPlan, contact_id: str) -> str | None:
        """Detach the old company, attach the new; returns the company recorded as attached."""
        attached = record.previous_company_id
        try:
            if record.detach and attached in company_ids:
                try:
                    await client.detach_company(contact_id, company_ids[attached])
                except IntercomAPIError as exc:
                    if exc.status != 404:  # already detached
                        raise
                summary.detached += 1
                attached = None
            if record.attach:
                if record.company_id not in company_ids:
                    raise RecordRejected(
                        "company_not_synced", f"company {record.company_id} is not in Intercom yet", "company_id"
                    )
                await client.attach_company(contact_id, company_ids[record.company_id])
                summary.attached += 1
                attached = record.company_id
        except (IntercomAPIError, RecordRejected) as exc:
            summary.fail(sync_error("contact", record.key, exc, "company_id"))
        return attached

    return await push.carry_out(prepare, saved)


@dataclass
class SyncResult:
    schema: SchemaPlan
    companies: PushSummary
    contacts: PushSummary
    company_plan: PlanSummary
    contact_plan: PlanSummary

    def counts(self) -> dict[str, int]:
        """The figures the pipeline summary reports."""
        return {
            "contacts_created": self.contacts.created,
            "contacts_updated": self.contacts.updated,
            "companies_upserted": self.companies.created + self.companies.updated,
            "attributes_written": self.contacts.attributes_written + self.companies.attributes_written,
        }


async def sync_intercom(
    client: IntercomClient,
    store: StateStore,
    contacts: pd.DataFrame,
    companies: pd.DataFrame,
    specs: Sequence[AttributeSpec],
    options: PushOptions,
    run_id: str,
    log: Log,
) -> SyncResult:
    """The whole push outside Dagster (benchmarks, scripts): attributes, companies, then contacts."""
    schema = await ensure_attributes(client, specs, options, log)
    run = PushRun(client, store, specs, options, run_id, log)
    company_summary, company_plan = await push_companies(run, companies)
    contact_summary, contact_plan = await push_contacts(run, contacts)
    return SyncResult(schema, company_summary, contact_summary, company_plan, contact_plan)
