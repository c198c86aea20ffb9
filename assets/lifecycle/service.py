"""One lifecycle run, no Dagster: collect → address → queue → send → record problems.

The order is what makes each event exactly once (docs/lifecycle-events.md): everything derived is
queued in the ledger, with the new cursor and snapshot, in one transaction before any send; the
send then works through what is pending, including events kept from earlier runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from assets import Log
from assets.lifecycle.collect import Collected, CollectOptions, collect
from assets.lifecycle.ledger import EventLedger
from assets.lifecycle.model import LifecycleEvent
from assets.lifecycle.policy import NameBudget, event_name_budget
from assets.lifecycle.send import SendSummary, address, recipients, send_pending
from assets.lifecycle.source import StripeSource
from resources.intercom.client import IntercomClient
from resources.state.store import StateStore, SyncError


@dataclass(frozen=True)
class LifecycleOptions:
    collect: CollectOptions
    other_event_names: Sequence[str] = field(default_factory=tuple)  # names other tools use in the workspace


@dataclass(frozen=True)
class LifecycleSummary:
    collected: Collected
    queued: int  # deliveries queued this run, plus kept events whose users now exist
    unaddressed: int  # new events whose customer reaches no user yet (kept in the ledger)
    sent: SendSummary
    budget: NameBudget
    ledger: dict[str, int]  # ledger rows by status after the send


def _no_contact(event: LifecycleEvent) -> SyncError:
    return SyncError(
        model="event",
        record_key=f"{event.customer_id}:{event.key}",
        field="customer",
        status=None,
        code="no_contact",
        message="customer reaches no user yet; kept and sent once it does",
        request_id=None,
    )


async def sync_lifecycle_events(
    stripe: StripeSource,
    client: IntercomClient,
    ledger: EventLedger,
    store: StateStore,
    customer_accounts: pd.DataFrame,
    users: pd.DataFrame,
    options: LifecycleOptions,
    run_id: str,
    log: Log,
) -> LifecycleSummary:
    """Send the lifecycle events Stripe reports since the last run to every user of each customer.

    Failures and events without a user land in `sync_errors` under `run_id`; the summary says how
    many of each there were.
    """
    collected = collect(stripe, ledger, options.collect)
    # Only the customers with events, new or kept from earlier runs, need their users.
    addressed = {e.customer_id for e in collected.events} | ledger.unaddressed_customers()
    members = recipients(customer_accounts, users, addressed)
    readdressed = ledger.readdress(members)  # events kept from earlier runs whose users now exist
    deliveries, unaddressed = address(collected.events, members)
    ledger.enqueue(deliveries, unaddressed=unaddressed, cursor=collected.cursor, snapshot=collected.snapshot)
    log.info(f"{collected.mode}: {len(collected.events)} new lifecycle events, {len(deliveries)} deliveries")

    sent = await send_pending(client, ledger, store)
    store.record_errors(run_id, [*sent.errors, *map(_no_contact, unaddressed)])
    our_names = list(options.collect.names.values())
    budget = event_name_budget([*ledger.names(), *options.other_event_names], our_names)
    if budget.warning:
        log.warning(budget.warning)
    return LifecycleSummary(
        collected=collected,
        queued=len(deliveries) + readdressed,
        unaddressed=len(unaddressed),
        sent=sent,
        budget=budget,
        ledger=ledger.counts(),
    )
