"""The pool guards: `intercom_api_pool` runs before anything that claims a slot in the `intercom_api`
pool, `stripe_api_pool` before stripe_snapshot claims its `stripe_api` slot.

Every Intercom-writing asset shares the pool (one push at a time). A run killed with SIGKILL keeps
its slot, and Dagster's default run launcher cannot tell that its worker died; without this guard
every later run would wait for that slot forever, silently. The guard frees slots of runs that are
finished or whose worker is gone (marking such a run failed), and when a live run holds the slot it
says which run and since when, and gives up after `max_wait_s`. The same code runs in `make demo`
(in process) and in daemon-launched runs; docs/operations.md "After a crash".
"""

import logging
import socket
import time
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from assets.pool.holders import HOST_TAG, PoolBusy, SlotHolder, verdict

POOL = "intercom_api"
STRIPE_POOL = "stripe_api"  # stripe_snapshot's: one Stripe snapshot sync at a time


class IntercomPoolConfig(dg.Config):
    max_wait_s: float = Field(
        default=1800.0, ge=0, description="Seconds to wait for a live run holding the pool before failing."
    )
    poll_s: float = Field(default=2.0, gt=0, description="Seconds between checks of the pool while waiting.")


def slot_holders(instance: dg.DagsterInstance, pool: str, own_run_id: str) -> list[SlotHolder]:
    """Every other run holding (or queued for) a slot of `pool`, with what is known about its worker."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    assigned = {(p.run_id, p.step_key): p.assigned_timestamp for p in info.pending_steps}
    claimed = {(s.run_id, s.step_key) for s in info.claimed_slots}
    steps = claimed | set(assigned)
    holders = []
    for run_id, step_key in sorted(steps):
        if run_id == own_run_id:
            continue
        record = instance.get_run_record_by_id(run_id)
        run = record.dagster_run if record else None
        start = next(iter(instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)), None)
        run_started = datetime.fromtimestamp(record.start_time, UTC) if record and record.start_time else None
        holders.append(
            SlotHolder(
                run_id=run_id,
                step_key=step_key,
                status=run.status.value if run else "SUCCESS",  # a deleted run holds nothing
                job_name=run.job_name if run else None,
                host=run.tags.get(HOST_TAG) if run else None,
                pid=start.dagster_event.pid if start and start.dagster_event else None,
                worker_started=start.timestamp if start else None,
                since=assigned.get((run_id, step_key)) or run_started,
                holding=(run_id, step_key) in claimed,
            )
        )
    return holders


def clear_pool(
    instance: dg.DagsterInstance,
    pool: str,
    own_run_id: str,
    config: IntercomPoolConfig,
    log: logging.Logger | dg.DagsterLogManager,
    wait: bool = True,
) -> tuple[list[str], float]:
    """Free the slots of finished and dead runs; wait while live runs fill the pool (unless not
    `wait`: then the step's own wait for its slot takes over). (freed runs, seconds waited)"""
    this_host, started, freed = socket.gethostname(), time.monotonic(), []
    while True:
        live = []
        for holder in slot_holders(instance, pool, own_run_id):
            state = verdict(holder, this_host)
            if state == "live":
                live.append(holder)
                continue
            if state == "dead":
                record = instance.get_run_record_by_id(holder.run_id)
                if record is not None:
                    instance.report_run_failed(
                        record.dagster_run,
                        f"revsync: the run worker (pid {holder.pid} on {holder.host}) is gone; its slots in "
                        f"pool {pool!r} were freed by run {own_run_id}",
                    )
            if holder.run_id not in freed:
                instance.event_log_storage.free_concurrency_slots_for_run(holder.run_id)
                freed.append(holder.run_id)
                log.warning(f"pool {pool!r}: freed the slot of {state} {holder.describe()}")
        limit = instance.event_log_storage.get_concurrency_info(pool).limit
        holding = [h for h in live if h.holding]
        waited = time.monotonic() - started
        if not wait or limit is None or len(holding) < limit:
            return freed, waited
        if waited >= config.max_wait_s:
            raise PoolBusy(pool, holding, waited)
        log.info(f"pool {pool!r} is busy: {'; '.join(h.describe() for h in holding)}; waiting")
        time.sleep(config.poll_s)


@dg.asset(group_name="pool", kinds={"dagster"}, owners=["team:revops"])
def intercom_api_pool(context: dg.AssetExecutionContext, config: IntercomPoolConfig) -> dg.MaterializeResult:
    """The `intercom_api` concurrency pool, cleared for this run before any Intercom write claims it.

    Slots held by finished runs or by runs whose worker process is gone (SIGKILL, power loss) are
    freed and such runs marked failed; a live holder is waited for, named in the log, for at most
    `max_wait_s`, then this run fails naming the holder and since when.
    """
    context.instance.add_run_tags(context.run.run_id, {HOST_TAG: socket.gethostname()})
    try:
        freed, waited = clear_pool(context.instance, POOL, context.run.run_id, config, context.log)
    except PoolBusy as exc:
        holders = dg.MetadataValue.json([h.run_id for h in exc.holders])
        raise dg.Failure(description=str(exc), metadata={"holders": holders}) from exc
    return dg.MaterializeResult(
        metadata={"pool": POOL, "freed_runs": dg.MetadataValue.json(freed), "waited_s": round(waited, 1)}
    )


@dg.asset(group_name="pool", kinds={"dagster"}, owners=["team:revops"])
def stripe_api_pool(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The `stripe_api` pool, cleared for this run before stripe_snapshot claims it.

    A run killed during its Stripe snapshot sync keeps this slot too, and every later run (nightly,
    history, lifecycle events) would wait for it forever at its first step. As for `intercom_api`,
    slots of finished and dead runs are freed and such runs marked failed; a live holder (another
    run's snapshot sync) is left alone: stripe_snapshot then waits for the slot as Dagster does.
    """
    context.instance.add_run_tags(context.run.run_id, {HOST_TAG: socket.gethostname()})
    freed, _ = clear_pool(
        context.instance, STRIPE_POOL, context.run.run_id, IntercomPoolConfig(), context.log, wait=False
    )
    return dg.MaterializeResult(metadata={"pool": STRIPE_POOL, "freed_runs": dg.MetadataValue.json(freed)})
