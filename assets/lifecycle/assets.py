"""The `intercom_lifecycle_events` asset: Stripe subscription lifecycle events in Intercom, once each.

Design (docs/lifecycle-events.md): derive events from Stripe's Events API (or a snapshot diff when
the cursor has expired), queue them with the cursor and snapshot in one transaction of the event
ledger, then send what is pending. Resource keys: `stripe`, `intercom`, `state`, `settings`.
"""

import asyncio
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.lifecycle.collect import CollectOptions, collect
from assets.lifecycle.ledger import EventLedger
from assets.lifecycle.model import DEFAULT_EVENT_NAMES, resolve_event_names
from assets.lifecycle.policy import event_name_budget
from assets.lifecycle.send import SendSummary, address, recipients, send_pending
from assets.metadata import sync_errors_table
from assets.pool.assets import intercom_api_pool
from assets.push.assets import intercom_contacts
from assets.revenue.rules import rules_for_run
from resources.intercom.resource import IntercomResource
from resources.settings import SyncSettings
from resources.state.store import StateStoreResource, SyncError
from resources.stripe import StripeResource


class LifecycleEventsConfig(dg.Config):
    lookback_days: int = Field(default=7, ge=0, description="A first run sends only events this recent.")
    allow_test_mode: bool = Field(default=False, description="Also sync Stripe test-mode (livemode: false) data.")
    event_names: dict[str, str] = Field(
        default_factory=dict,
        description=f"Renames by event type ({', '.join(t.value for t in DEFAULT_EVENT_NAMES)}).",
    )
    other_event_names: list[str] = Field(
        default_factory=list,
        description="Event names other tools track in the workspace (Intercom has no API to list them).",
    )


def _send(intercom: IntercomResource, ledger: EventLedger, state: StateStoreResource) -> SendSummary:
    async def run() -> SendSummary:
        async with intercom.open_client() as client:
            return await send_pending(client, ledger, state.store)

    return asyncio.run(run())


@dg.asset(
    group_name="lifecycle",
    kinds={"stripe", "intercom"},
    owners=["team:revops"],
    pool="intercom_api",
    deps=[intercom_api_pool, intercom_contacts],
)
def intercom_lifecycle_events(
    context: dg.AssetExecutionContext,
    config: LifecycleEventsConfig,
    stripe: StripeResource,
    intercom: IntercomResource,
    state: StateStoreResource,
    settings: SyncSettings,
    customer_accounts: pd.DataFrame,
    warehouse_users: pd.DataFrame,
) -> dg.MaterializeResult:
    """Subscription lifecycle events (trial started, renewed, cancelled, …) as Intercom data events.

    Each event carries the Stripe event's own time, so Intercom's (user, name, time) de-duplication
    makes a resend harmless, and the event ledger queues each fact once. Sent to every user of the
    customer's account after the contact push has created them.
    """
    ledger = EventLedger(state.store)
    names = resolve_event_names(config.event_names)
    options = CollectOptions(
        now=settings.now(),
        names=names,
        rules=rules_for_run(settings.reporting_currency, settings.parsed_fx_rates()),
        lookback=timedelta(days=config.lookback_days),
        allow_test_mode=config.allow_test_mode,
    )
    collected = collect(stripe, ledger, options)
    members = recipients(customer_accounts, warehouse_users)
    readdressed = ledger.readdress(members)  # events kept from earlier runs whose users now exist
    deliveries, unaddressed = address(collected.events, members)
    ledger.enqueue(deliveries, unaddressed=unaddressed, cursor=collected.cursor, snapshot=collected.snapshot)
    context.log.info(f"{collected.mode}: {len(collected.events)} new lifecycle events, {len(deliveries)} deliveries")

    summary = _send(intercom, ledger, state)
    problems = [
        SyncError(
            "event",
            f"{e.customer_id}:{e.key}",
            "customer",
            None,
            "no_contact",
            "customer reaches no user yet; kept and sent once it does",
            None,
        )
        for e in unaddressed
    ]
    state.store.record_errors(context.op_execution_context.run_id, [*summary.errors, *problems])
    budget = event_name_budget([*ledger.names(), *config.other_event_names], list(names.values()))
    if budget.warning:
        context.log.warning(budget.warning)
    metadata: dict[str, Any] = {
        "mode": collected.mode,
        "stripe_events_read": collected.stripe_events_read,
        "events_derived": len(collected.events),
        "events_queued": len(deliveries) + readdressed,
        "events_sent": sum(summary.sent.values()),
        "events_failed": summary.failed,
        "waiting_for_contact": summary.waiting_for_contact,
        "events_without_contact": len(unaddressed),
        "sent_by_event": dg.MetadataValue.json(dict(sorted(summary.sent.items()))),
        "ledger": dg.MetadataValue.json(ledger.counts()),
        "event_names_in_use": budget.distinct,
        "event_name_limit": budget.limit,
        "event_name_warning": budget.warning or "",
        "stripe_cursor": collected.cursor.event_id if collected.cursor else "",
        "unresolved_stripe_events": len(collected.unresolved),
        "unpriced_subscriptions": len(collected.valuation_errors),
    }
    if summary.errors:
        metadata["failures"] = sync_errors_table(summary.errors)
    return dg.MaterializeResult(metadata=metadata)
