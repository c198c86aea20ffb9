"""The `intercom_lifecycle_events` asset: Stripe subscription lifecycle events in Intercom, once each.

Design (docs/lifecycle-events.md): derive events from Stripe's Events API (or a snapshot diff when
the cursor has expired), queue them with the cursor and snapshot in one transaction of the event
ledger, then send what is pending. The workflow is `service.sync_lifecycle_events`; this asset maps
run config to its options and its summary to metadata. Resource keys: `stripe`, `intercom`,
`state`, `settings`.
"""

import time
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.ingest.assets import stripe_snapshot
from assets.ingest.stored_reader import StoredStripe
from assets.ingest.stripe_store import StripeSnapshotStore
from assets.lifecycle.collect import CollectOptions
from assets.lifecycle.ledger import EventLedger
from assets.lifecycle.model import DEFAULT_EVENT_NAMES, resolve_event_names
from assets.lifecycle.service import LifecycleOptions, sync_lifecycle_events
from assets.metadata import sync_errors_table
from assets.push.assets import intercom_contacts
from assets.revenue import rules_for_run
from resources.intercom import IntercomResource
from resources.settings import SyncSettings
from resources.state import StateStoreResource
from resources.stripe import StripeResource

# By key: the pool guard (assets/pool) frees slots of dead runs before any Intercom write.
INTERCOM_API_POOL = dg.AssetKey("intercom_api_pool")


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


@dg.asset(
    group_name="lifecycle",
    kinds={"stripe", "intercom"},
    owners=["team:revops"],
    pool="intercom_api",
    deps=[INTERCOM_API_POOL, intercom_contacts, stripe_snapshot],
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
    store = state.store
    options = LifecycleOptions(
        collect=CollectOptions(
            now=settings.now(),
            names=resolve_event_names(config.event_names),
            rules=rules_for_run(settings.reporting_currency, settings.parsed_fx_rates()),
            lookback=timedelta(days=config.lookback_days),
            allow_test_mode=config.allow_test_mode,
        ),
        other_event_names=tuple(config.other_event_names),
    )
    run_id = context.op_execution_context.run_id
    started = time.monotonic()
    summary = intercom.run_with_client(
        lambda client: sync_lifecycle_events(
            # Stripe as this run's snapshot and event log show it: no second listing of Stripe.
            StoredStripe(StripeSnapshotStore(store), stripe.reader()),
            client,
            EventLedger(store),
            store,
            customer_accounts,
            warehouse_users,
            options,
            run_id,
            context.log,
        )
    )
    collected, sent, budget = summary.collected, summary.sent, summary.budget
    # A few figures to plot across runs; what a person reads when one looks wrong is in `details`.
    metadata: dict[str, Any] = {
        "mode": collected.mode,
        "events_derived": len(collected.events),
        "events_sent": sum(sent.sent.values()),
        "events_failed": sent.failed,
        "events_without_contact": summary.unaddressed,
        "duration_s": round(time.monotonic() - started, 2),
        "details": dg.MetadataValue.json(
            {
                "stripe_events_read": collected.stripe_events_read,
                "events_queued": summary.queued,
                "waiting_for_contact": sent.waiting_for_contact,
                "sent_by_event": dict(sorted(sent.sent.items())),
                "ledger": summary.ledger,
                "event_names_in_use": budget.distinct,
                "event_name_limit": budget.limit,
                "stripe_cursor": collected.cursor.event_id if collected.cursor else "",
                "unresolved_stripe_events": len(collected.unresolved),
                "unpriced_subscriptions": len(collected.valuation_errors),
            }
        ),
    }
    if budget.warning:
        metadata["event_name_warning"] = budget.warning
    if sent.errors:
        metadata["failures"] = sync_errors_table(sent.errors)
    return dg.MaterializeResult(metadata=metadata)
