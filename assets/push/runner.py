"""The machinery every push shares: options, the summary, the worker pool with progress, batched
state and the run's bookkeeping in the state store. No Dagster. `PushRun` is what the pushes of one
run share; `planned` and `finishing` open and close each push (assets/push/service.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

import pandas as pd

from assets import Log
from assets.attributes import AttributeSpec
from assets.push.acceptable import reject_unacceptable
from assets.push.plan import CUSTOM, FieldSpec, PushPlan, RecordPlan
from resources.intercom.client import IntercomClient
from resources.intercom.errors import IntercomAPIError
from resources.state.store import StateStore, SyncError

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


class RecordRejected(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def sync_error(model: str, key: str, exc: IntercomAPIError | RecordRejected, field: str | None) -> SyncError:
    if isinstance(exc, IntercomAPIError):
        return SyncError(model, key, exc.field or field, exc.status, exc.code, exc.message, exc.request_id)
    return SyncError(model, key, exc.field or field, None, exc.code, exc.message, None)


def custom_count(values: dict[str, Any]) -> int:
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


class Batcher(Generic[T]):
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


async def run_all(records: Sequence[RecordPlan], handle: Callable[[RecordPlan], Awaitable[None]], workers: int) -> None:
    queue = iter(records)  # shared by the workers; next() never awaits, so no lock is needed

    async def worker() -> None:
        for record in queue:
            await handle(record)

    await asyncio.gather(*(worker() for _ in range(min(workers, len(records)))))


async def execute(
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
        await run_all(plan.records, counted, client.transport.pacer.max_in_flight)
    finally:
        reporter.cancel()
        progress.report()
        summary.requests = stats.requests - requests_before
        summary.rate_limited = stats.rate_limited - limited_before
        summary.duration_s = round(time.monotonic() - started, 3)
        summary.cpu_s = round(time.process_time() - cpu_started, 3)


def start(
    store: StateStore, plan: PushPlan, options: PushOptions, run_id: str, refused: Sequence[SyncError] = ()
) -> PushSummary:
    """The run's summary; `refused` are values Intercom would not accept, counted as failed records."""
    store.start_run(run_id, plan.model, planned=len(plan.records), dry_run=options.dry_run)
    summary = PushSummary(plan.model, planned=len(plan.records), unchanged=plan.unchanged)
    for error in refused:
        summary.fail(error)
    summary.planned += summary.failed
    return summary


def finish(store: StateStore, summary: PushSummary, run_id: str, dry_run: bool) -> None:
    store.record_errors(run_id, summary.errors)
    done = 0 if dry_run else summary.planned - summary.failed
    store.finish_run(run_id, summary.model, done=done, failed=summary.failed)


@dataclass(frozen=True)
class PushRun:
    """What the pushes of one run share: the client, the state store, the attribute catalog, the
    options, the run id and the log."""

    client: IntercomClient
    store: StateStore
    specs: Sequence[AttributeSpec]
    options: PushOptions
    run_id: str
    log: Log


Planner = Callable[..., PushPlan]  # plan_companies / plan_contacts: (records, stored, fields, *, full_resync)


def planned(
    run: PushRun, model: str, records: pd.DataFrame, fields: Sequence[FieldSpec], planner: Planner, stored: pd.DataFrame
) -> tuple[PushPlan, PushSummary]:
    """A push's plan and started summary: values Intercom would refuse are failed records, the rest
    planned against `stored`; a dry run is finished here."""
    key = "company_id" if model == "company" else "external_id"
    records, refused = reject_unacceptable(records, key, fields, model)
    plan = planner(records, stored, fields, full_resync=run.options.full_resync)
    summary = start(run.store, plan, run.options, run.run_id, refused)
    if run.options.dry_run:
        finish(run.store, summary, run.run_id, run.options.dry_run)
    return plan, summary


@asynccontextmanager
async def finishing(run: PushRun, summary: PushSummary, saved: Batcher[Any]) -> AsyncIterator[None]:
    """Around a push's calls: whatever happens, the confirmed state is saved and the run finished."""
    try:
        yield
    finally:
        saved.flush()
        finish(run.store, summary, run.run_id, run.options.dry_run)
