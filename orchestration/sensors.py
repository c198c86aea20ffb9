"""Sensors. `stripe_lifecycle_events_sensor` sends lifecycle events within minutes, between nightly runs.

Growth workflows ("trial cancelled → win-back") lose value by the hour. Every 15 minutes the
sensor asks Stripe whether a lifecycle-relevant event is newer than the ledger's cursor and, if so,
runs `lifecycle_events` (the Stripe snapshot's incremental read, then `intercom_lifecycle_events`;
it shares the `stripe_api` and `intercom_api` pools with the nightly sync). It starts STOPPED:
turn it on under Automation.
"""

import dagster as dg

from assets.lifecycle import STRIPE_EVENT_TYPES, EventLedger
from orchestration.jobs import lifecycle_events_job
from resources.state import StateStoreResource
from resources.stripe import StripeResource


@dg.sensor(
    job=lifecycle_events_job,
    minimum_interval_seconds=900,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Every 15 minutes: runs lifecycle_events when Stripe has a lifecycle event newer than the cursor.",
)
def stripe_lifecycle_events_sensor(stripe: StripeResource, state: StateStoreResource) -> dg.RunRequest | dg.SkipReason:
    """Run `lifecycle_events` when Stripe has a lifecycle event newer than the ledger's cursor."""
    cursor = EventLedger(state.store).cursor()
    if cursor is None:
        return dg.SkipReason("no Stripe event cursor yet: the first nightly_sync sets it")
    newest = next(stripe.list_events(list(STRIPE_EVENT_TYPES), created_gte=cursor.created), None)
    if newest is None or newest["id"] == cursor.event_id:
        return dg.SkipReason(f"no Stripe lifecycle event after {cursor.event_id or cursor.created}")
    return dg.RunRequest(run_key=f"stripe-{newest['id']}")
