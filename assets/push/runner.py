"""The machinery every push shares: options, the summary, the worker pool with progress, batched
state and the run's bookkeeping in the state store. No Dagster. `PushRun` is what the pushes of one
run share; `ChunkedPush` plans and carries out one push (assets/push/service.py) a chunk of records
at a time, so its memory is bounded by `PushOptions.chunk_size`, not by the number of records.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

import pandas as pd

from assets import Log
from assets.attributes import AttributeSpec, Model
from assets.push.acceptable import reject_unacceptable
from assets.push.plan import CUSTOM, FieldSpec, PlanSummary, PushPlan, RecordPlan, check_input
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
    chunk_size: int = 10_000  # records planned and carried out at a time: what bounds a push's memory


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


Handler = Callable[[RecordPlan], Awaitable[None]]


@dataclass(frozen=True)
class Chunk:
    """One chunk, planned and prepared: its records needing calls, how to carry out each, and how
    many of its records need none (unchanged or refused)."""

    records: Sequence[RecordPlan]
    handle: Handler
    settled: int


class Feed:
    """Hands the workers one record at a time, chunk after chunk. The worker that finds the current
    chunk used up plans and prepares the next one under the lock (the others wait for it), so each
    chunk is planned once. At most two chunks are alive: the next one's plan beside the calls still in
    flight of the one before (with its search results)."""

    def __init__(self, chunks: AsyncIterator[Chunk], progress: Progress) -> None:
        self._chunks, self.progress = chunks, progress
        self._jobs: Iterator[tuple[RecordPlan, Handler]] = iter(())
        self._lock = asyncio.Lock()
        self._closed = False

    async def next(self) -> tuple[RecordPlan, Handler] | None:
        async with self._lock:
            while not self._closed:
                job = next(self._jobs, None)
                if job is not None:
                    return job
                await self._next_chunk()
            return None

    async def _next_chunk(self) -> None:
        chunk = await anext(self._chunks, None)
        if chunk is None:
            self._closed = True
            return
        self._jobs = ((record, chunk.handle) for record in chunk.records)
        self.progress.done += chunk.settled

    def close(self) -> None:
        """Hand out nothing more: a worker failed."""
        self._closed = True


async def run_all(feed: Feed, workers: int) -> None:
    """`workers` workers carry out the feed's records. When one fails, the others finish the record
    they hold (so its state is saved) and take no more; then the first error is raised."""

    async def worker() -> None:
        try:
            while (job := await feed.next()) is not None:
                record, handle = job
                await handle(record)
                feed.progress.done += 1
        except BaseException:
            feed.close()
            raise

    results = await asyncio.gather(*(worker() for _ in range(workers)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


async def execute(
    client: IntercomClient,
    chunks: AsyncIterator[Chunk],
    total: int,
    summary: PushSummary,
    options: PushOptions,
    log: Log,
) -> None:
    """Every chunk's records on the worker pool, with progress; the summary gets the calls and times."""
    stats = client.transport.stats
    requests_before, limited_before = stats.requests, stats.rate_limited
    started, cpu_started = time.monotonic(), time.process_time()
    progress = Progress(
        f"intercom {summary.model} push", total, log, options.progress_interval_s, lambda: stats.requests
    )
    feed = Feed(chunks, progress)
    reporter = asyncio.create_task(progress.run())
    try:
        await run_all(feed, client.transport.pacer.max_in_flight)
    finally:
        reporter.cancel()
        progress.report()
        summary.requests = stats.requests - requests_before
        summary.rate_limited = stats.rate_limited - limited_before
        summary.duration_s = round(time.monotonic() - started, 3)
        summary.cpu_s = round(time.process_time() - cpu_started, 3)


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
Load = Callable[[Sequence[str]], pd.DataFrame]  # the state rows of these keys (StateStore.load_contacts/_companies)
Prepare = Callable[[Sequence[RecordPlan]], Awaitable[Handler]]  # before a chunk's calls: how to carry out each record


class ChunkedPush:
    """One push (companies or contacts), `options.chunk_size` records at a time, in input order: each
    chunk's state rows are loaded, its values Intercom would refuse become failed records, the rest
    is planned against the state (the pure planners of plan.py), prepared (`Prepare`: marks, lookups)
    and carried out. `summary` and `plan` add up the chunks; the run is recorded in the state store."""

    def __init__(
        self,
        run: PushRun,
        model: Model,
        records: pd.DataFrame,
        fields: Sequence[FieldSpec],
        planner: Planner,
        load: Load,
    ) -> None:
        self.key = "company_id" if model == "company" else "external_id"
        check_input(records, self.key, fields)  # here: a duplicate in two chunks is seen by neither
        self.run, self.records, self.fields, self.planner, self.load = run, records, fields, planner, load
        self.summary = PushSummary(model)
        self.plan = PlanSummary(model)

    async def carry_out(self, prepare: Prepare, saved: Batcher[Any]) -> tuple[PushSummary, PlanSummary]:
        """Plan every chunk and, unless this is a dry run, carry it out; whatever happens, the
        confirmed state is saved and the run finished."""
        self.run.store.start_run(self.run.run_id, self.summary.model, dry_run=self.run.options.dry_run)
        try:
            if self.run.options.dry_run:
                for start in self._starts():
                    self._plan(start)
            else:
                await execute(
                    self.run.client,
                    self._chunks(prepare),
                    len(self.records),
                    self.summary,
                    self.run.options,
                    self.run.log,
                )
        finally:
            saved.flush()
            self._finish()
        return self.summary, self.plan

    def _starts(self) -> range:
        """Where each chunk starts in the input frame; an empty frame is still one (checked) chunk."""
        return range(0, max(len(self.records), 1), self.run.options.chunk_size)

    def _plan(self, start: int) -> tuple[PushPlan, int]:
        """The plan of the chunk at `start` and how many of its records were refused (failed in the
        summary); the summaries count it."""
        chunk = self.records.iloc[start : start + self.run.options.chunk_size]
        records, refused = reject_unacceptable(chunk, self.key, self.fields, self.summary.model)
        for error in refused:
            self.summary.fail(error)
        stored = self.load(records[self.key].astype("string").tolist())
        plan = self.planner(records, stored, self.fields, full_resync=self.run.options.full_resync)
        failed = len({e.record_key for e in refused})
        self.plan.add(plan)
        self.summary.planned += len(plan.records) + failed
        self.summary.unchanged += plan.unchanged
        return plan, failed

    async def _chunks(self, prepare: Prepare) -> AsyncIterator[Chunk]:
        for start in self._starts():  # nothing here holds a chunk while the next one is planned
            yield await self._prepared(start, prepare)

    async def _prepared(self, start: int, prepare: Prepare) -> Chunk:
        plan, failed = self._plan(start)
        return Chunk(plan.records, await prepare(plan.records), plan.unchanged + failed)

    def _finish(self) -> None:
        store, summary, run_id = self.run.store, self.summary, self.run.run_id
        store.record_errors(run_id, summary.errors)
        done = 0 if self.run.options.dry_run else summary.planned - summary.failed
        store.finish_run(run_id, summary.model, planned=self.plan.planned, done=done, failed=summary.failed)
