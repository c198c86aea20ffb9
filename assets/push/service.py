"""Carries out a push plan against Intercom: attribute schema, companies, contacts. No Dagster.

Each record is one coroutine step on a shared worker pool; the transport's pacer keeps every
kind of call inside one rate-limit window. State is written only after Intercom confirms, in
batches. Identity rules and crash safety are described in docs/push.md.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

import pandas as pd

from assets import Log
from assets.attributes import AttributeSpec
from assets.push.acceptable import reject_unacceptable
from assets.push.lookup import KnownContacts, lookup_identities
from assets.push.plan import (
    CUSTOM,
    FieldSpec,
    PushPlan,
    RecordPlan,
    body,
    company_fields,
    contact_fields,
    full_values,
    identify,
    plan_companies,
    plan_contacts,
)
from assets.push.schema import SchemaPlan, plan_attribute_schema
from resources.intercom.client import IntercomClient
from resources.intercom.errors import ContactConflict, IntercomAPIError
from resources.state.store import CompanyState, ContactState, StateStore, SyncError

T = TypeVar("T")


@dataclass(frozen=True)
class PushOptions:
    dry_run: bool = False
    full_resync: bool = False
    attribute_prefix: str = ""
    max_error_rate: float = 0.05
    progress_interval_s: float = 5.0
    state_flush_every: int = 500
    lookup_values_per_filter: int = 100  # identities per `IN` filter of the batched search (15 filters a call)


@dataclass
class PushSummary:
    model: str
    planned: int = 0  # records needing at least one call
    unchanged: int = 0
    created: int = 0
    updated: int = 0
    adopted: int = 0  # leads or email-only users that became our user (counted in updated too)
    attributes_written: int = 0  # custom attribute values sent in confirmed writes, clears included
    cleared: int = 0
    attached: int = 0
    detached: int = 0
    failed: int = 0
    requests: int = 0
    rate_limited: int = 0
    duration_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time during the push: client cost, not Intercom's latency
    errors: list[SyncError] = field(default_factory=list)
    _failed_keys: set[str] = field(default_factory=set, repr=False)

    @property
    def error_rate(self) -> float:
        return self.failed / self.planned if self.planned else 0.0

    def counts(self) -> dict[str, int | float]:
        out = {k: v for k, v in asdict(self).items() if k not in ("errors", "_failed_keys", "model")}
        out["error_rate"] = round(self.error_rate, 4)
        return out

    def fail(self, error: SyncError) -> None:
        self.errors.append(error)
        if error.record_key not in self._failed_keys:
            self._failed_keys.add(error.record_key)
            self.failed += 1


class PushFailed(Exception):
    """More records failed than `max_error_rate` allows."""

    def __init__(self, summary: PushSummary, max_error_rate: float) -> None:
        self.summary = summary
        codes = pd.Series([e.code for e in summary.errors]).value_counts().head(5).to_dict()
        super().__init__(
            f"Intercom {summary.model} push: {summary.failed} of {summary.planned} records failed "
            f"({summary.error_rate:.1%} > {max_error_rate:.1%}); top error codes {codes}; see sync_errors"
        )


def check_error_rate(summary: PushSummary, max_error_rate: float) -> None:
    if summary.error_rate > max_error_rate:
        raise PushFailed(summary, max_error_rate)


class _RecordRejected(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def _sync_error(model: str, key: str, exc: IntercomAPIError | _RecordRejected, field: str | None) -> SyncError:
    if isinstance(exc, IntercomAPIError):
        return SyncError(model, key, exc.field or field, exc.status, exc.code, exc.message, exc.request_id)
    return SyncError(model, key, exc.field or field, None, exc.code, exc.message, None)


def merged_into(exc: IntercomAPIError) -> str | None:
    """The surviving contact's id when Intercom answers 410 Gone for a merged contact (2.16 `Link`)."""
    found = re.search(r"/contacts/([^/>;\s]+)>", exc.link or "") if exc.status == 410 else None
    return found.group(1) if found else None


def _custom_count(values: dict[str, Any]) -> int:
    return sum(1 for k in values if k.startswith(CUSTOM))


# -- progress and batching --------------------------------------------------------------------
class Progress:
    """Logs done/total, record and call rates and an ETA every `interval_s` while a push runs."""

    def __init__(self, label: str, total: int, log: Log, interval_s: float, calls: Callable[[], int]) -> None:
        self.label, self.total, self.log, self.interval_s, self._calls = label, total, log, interval_s, calls
        self.done = 0
        self._start = time.monotonic()
        self._calls_at_start = calls()

    def report(self) -> None:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        calls = (self._calls() - self._calls_at_start) / elapsed
        self.log.info(
            f"{self.label}: {self.done:,}/{self.total:,} records ({self.done / max(self.total, 1):.0%}), "
            f"{rate:.1f} records/s, {calls:.1f} calls/s, ETA {eta:.0f} s"
        )

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.report()


class _Batcher(Generic[T]):
    """Collects confirmed state and writes it every `every` items (and at the end)."""

    def __init__(self, save: Callable[[list[T]], None], every: int) -> None:
        self._save, self._every = save, every
        self._items: list[T] = []

    def add(self, item: T) -> None:
        self._items.append(item)
        if len(self._items) >= self._every:
            self.flush()

    def flush(self) -> None:
        if self._items:
            self._save(self._items)
            self._items = []


async def _run_all(
    records: Sequence[RecordPlan], handle: Callable[[RecordPlan], Awaitable[None]], workers: int
) -> None:
    queue = iter(records)  # shared by the workers; next() never awaits, so no lock is needed

    async def worker() -> None:
        for record in queue:
            await handle(record)

    await asyncio.gather(*(worker() for _ in range(min(workers, len(records)))))


async def _execute(
    client: IntercomClient,
    plan: PushPlan,
    summary: PushSummary,
    handle: Callable[[RecordPlan], Awaitable[None]],
    options: PushOptions,
    log: Log,
) -> None:
    if not plan.records:
        return
    stats = client.transport.stats
    requests_before, limited_before = stats.requests, stats.rate_limited
    started, cpu_started = time.monotonic(), time.process_time()
    progress = Progress(
        f"intercom {plan.model} push", len(plan.records), log, options.progress_interval_s, lambda: stats.requests
    )

    async def counted(record: RecordPlan) -> None:
        await handle(record)
        progress.done += 1

    reporter = asyncio.create_task(progress.run())
    try:
        await _run_all(plan.records, counted, client.transport.pacer.max_in_flight)
    finally:
        reporter.cancel()
        progress.report()
        summary.requests = stats.requests - requests_before
        summary.rate_limited = stats.rate_limited - limited_before
        summary.duration_s = round(time.monotonic() - started, 3)
        summary.cpu_s = round(time.process_time() - cpu_started, 3)


def _start(
    store: StateStore, plan: PushPlan, options: PushOptions, run_id: str, refused: Sequence[SyncError] = ()
) -> PushSummary:
    """The run's summary; `refused` are values Intercom would not accept, counted as failed records."""
    store.start_run(run_id, plan.model, planned=len(plan.records), dry_run=options.dry_run)
    summary = PushSummary(plan.model, planned=len(plan.records), unchanged=plan.unchanged)
    for error in refused:
        summary.fail(error)
    summary.planned += summary.failed
    return summary


def _finish(store: StateStore, summary: PushSummary, run_id: str, dry_run: bool) -> None:
    store.record_errors(run_id, summary.errors)
    done = 0 if dry_run else summary.planned - summary.failed
    store.finish_run(run_id, summary.model, done=done, failed=summary.failed)


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
async def push_companies(
    client: IntercomClient,
    store: StateStore,
    companies: pd.DataFrame,
    specs: Sequence[AttributeSpec],
    options: PushOptions,
    run_id: str,
    log: Log,
) -> tuple[PushSummary, PushPlan]:
    """`POST /companies` (upsert on company_id) with the changed fields of each company."""
    fields = company_fields(specs, options.attribute_prefix)
    companies, refused = reject_unacceptable(companies, "company_id", fields, "company")
    plan = plan_companies(companies, store.load_companies(), fields, full_resync=options.full_resync)
    summary = _start(store, plan, options, run_id, refused)
    if options.dry_run:
        _finish(store, summary, run_id, options.dry_run)
        return summary, plan
    saved = _Batcher(store.save_companies, options.state_flush_every)

    async def handle(record: RecordPlan) -> None:
        try:
            company = await client.upsert_company({"company_id": record.key, **body(record.changes)})
        except IntercomAPIError as exc:
            summary.fail(_sync_error("company", record.key, exc, None))
            return
        if record.action == "create":
            summary.created += 1
        else:
            summary.updated += 1
        summary.attributes_written += _custom_count(record.changes)
        summary.cleared += len(record.cleared)
        saved.add(CompanyState(record.key, company["id"], record.confirmed_values()))

    try:
        await _execute(client, plan, summary, handle, options, log)
    finally:
        saved.flush()
        _finish(store, summary, run_id, options.dry_run)
    return summary, plan


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
        self.summary.attributes_written += _custom_count(values)
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
            raise _RecordRejected(
                "identity_conflict",
                f"Intercom merged contact {contact_id} into {survivor} (external_id="
                f"{existing.get('external_id')!r}), which is someone else; it is left untouched",
                "email",
            )
        adopt = {"role": "user", "external_id": record.key} if who == "adopt" else None
        await self._put(survivor, full_values(record.desired, self.fields), adopt)
        return survivor

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
        self.summary.attributes_written += _custom_count(non_empty)
        return str(contact["id"])

    async def _recover(self, record: RecordPlan, conflict: ContactConflict, everything: dict[str, Any]) -> str:
        existing = await self.client.get_contact(conflict.contact_id)
        who = identify(existing, record.key, record.desired.get("email"))
        if who == "other_contact":
            raise _RecordRejected(
                "identity_conflict",
                f"Intercom contact {conflict.contact_id} (external_id={existing.get('external_id')!r}) holds this "
                "record's identity; it is left untouched",
                "email",
            )
        if conflict.archived:
            await self.client.unarchive_contact(conflict.contact_id)
        identity = {"role": "user", "external_id": record.key} if who == "adopt" else None
        await self._put(conflict.contact_id, everything, identity)
        self.summary.adopted += who == "adopt"
        return conflict.contact_id


async def _find_known(client: IntercomClient, records: Sequence[RecordPlan], per_filter: int) -> KnownContacts:
    """One batched search for what Intercom already holds of the records about to be created."""
    emails, external_ids = lookup_identities(records)
    if not emails and not external_ids:
        return KnownContacts()
    return KnownContacts.from_search(await client.find_contacts(emails, external_ids, per_filter))


async def push_contacts(
    client: IntercomClient,
    store: StateStore,
    contacts: pd.DataFrame,
    specs: Sequence[AttributeSpec],
    options: PushOptions,
    run_id: str,
    log: Log,
) -> tuple[PushSummary, PushPlan]:
    """Upsert contacts by external_id and attach each to its company (after `push_companies`)."""
    fields = contact_fields(specs, options.attribute_prefix)
    contacts, refused = reject_unacceptable(contacts, "external_id", fields, "contact")
    plan = plan_contacts(contacts, store.load_contacts(), fields, full_resync=options.full_resync)
    summary = _start(store, plan, options, run_id, refused)
    if options.dry_run:
        _finish(store, summary, run_id, options.dry_run)
        return summary, plan
    companies = store.load_companies()
    company_ids: dict[str, str] = dict(zip(companies.index, companies["intercom_id"], strict=True))
    new = [r for r in plan.records if r.action != "update"]
    store.mark_pending_contacts(r.key for r in new if r.action == "create")
    saved = _Batcher(store.save_contacts, options.state_flush_every)

    async def handle(record: RecordPlan) -> None:
        try:
            contact_id = await writer.upsert(record)
        except (IntercomAPIError, _RecordRejected) as exc:
            summary.fail(_sync_error("contact", record.key, exc, None))
            return
        company = await _move_company(record, contact_id)
        saved.add(ContactState(record.key, contact_id, record.desired.get("email"), company, record.confirmed_values()))

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
                    raise _RecordRejected(
                        "company_not_synced", f"company {record.company_id} is not in Intercom yet", "company_id"
                    )
                await client.attach_company(contact_id, company_ids[record.company_id])
                summary.attached += 1
                attached = record.company_id
        except (IntercomAPIError, _RecordRejected) as exc:
            summary.fail(_sync_error("contact", record.key, exc, "company_id"))
        return attached

    try:
        known = await _find_known(client, new, options.lookup_values_per_filter)
        writer = _ContactWriter(client, fields, summary, known)
        await _execute(client, plan, summary, handle, options, log)
    finally:
        saved.flush()
        _finish(store, summary, run_id, options.dry_run)
    return summary, plan


@dataclass
class SyncResult:
    schema: SchemaPlan
    companies: PushSummary
    contacts: PushSummary
    company_plan: PushPlan
    contact_plan: PushPlan

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
    company_summary, company_plan = await push_companies(client, store, companies, specs, options, run_id, log)
    contact_summary, contact_plan = await push_contacts(client, store, contacts, specs, options, run_id, log)
    return SyncResult(schema, company_summary, contact_summary, company_plan, contact_plan)
