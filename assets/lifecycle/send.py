"""Who receives a lifecycle event, and sending the ledger's pending events to Intercom.

Recipients: every user of the Stripe customer's account, as every member carries the account's
revenue attributes. An event waits in the ledger until the contact push has confirmed its contact
(the `intercom_contacts` asset runs first). A 404 from Intercom for a confirmed contact is retried
once after looking the contact up; a second refusal is recorded as a failure in the ledger and in
`sync_errors`. Calls go through the project's Intercom transport (rate limit, retries).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from assets.lifecycle.ledger import EventLedger, Outgoing
from assets.lifecycle.model import LifecycleEvent
from resources.intercom.client import IntercomClient
from resources.intercom.errors import IntercomAPIError
from resources.state.store import StateStore, SyncError

SEND_BATCH = 500  # events in flight at most; the transport's pacer paces the calls


def recipients(
    customer_accounts: pd.DataFrame, users: pd.DataFrame, customers: Collection[str]
) -> dict[str, list[str]]:
    """Stripe customer id -> user ids (Intercom external ids) of its account, sorted, for
    `customers` only: a run groups the users of the customers it has events for, not everyone's."""
    wanted = customer_accounts[customer_accounts["customer_id"].astype(str).isin(list(customers))]
    accounts = wanted.set_index("customer_id")["account_id"].astype(str)
    members_of = users[users["account_id"].astype(str).isin(set(accounts))]
    members = members_of.groupby(members_of["account_id"].astype(str))["user_id"].agg(lambda s: sorted(map(str, s)))
    return {str(customer): members.get(account, []) for customer, account in accounts.items()}


def address(
    events: Iterable[LifecycleEvent], members: Mapping[str, Sequence[str]]
) -> tuple[list[tuple[LifecycleEvent, str]], list[LifecycleEvent]]:
    """(event, user_id) deliveries, and the events whose customer reaches no user."""
    deliveries: list[tuple[LifecycleEvent, str]] = []
    unaddressed: list[LifecycleEvent] = []
    for event in events:
        users = members.get(event.customer_id) or []
        deliveries.extend((event, user_id) for user_id in users)
        if not users:
            unaddressed.append(event)
    return deliveries, unaddressed


@dataclass
class SendSummary:
    sent: Counter[str] = field(default_factory=Counter)  # by event name
    failed: int = 0
    waiting_for_contact: int = 0
    retried_404: int = 0
    errors: list[SyncError] = field(default_factory=list)


async def _post(client: IntercomClient, item: Outgoing) -> None:
    body = {"event_name": item.name, "created_at": item.created_at, "user_id": item.user_id, "metadata": item.metadata}
    await client.submit_event(body)


async def _deliver(client: IntercomClient, ledger: EventLedger, item: Outgoing, summary: SendSummary) -> None:
    try:
        try:
            await _post(client, item)
        except IntercomAPIError as error:
            if error.status != 404 or await client.find_contact_by_external_id(item.user_id) is None:
                raise
            summary.retried_404 += 1
            await _post(client, item)
    except IntercomAPIError as error:
        ledger.mark_failed(item, str(error))
        summary.failed += 1
        summary.errors.append(
            SyncError(
                "event", f"{item.user_id}:{item.key}", None, error.status, error.code, error.message, error.request_id
            )
        )
        return
    ledger.mark_sent(item)
    summary.sent[item.name] += 1


async def send_pending(client: IntercomClient, ledger: EventLedger, store: StateStore) -> SendSummary:
    """Send every pending event whose contact exists, oldest first; mark each once Intercom answers."""
    summary = SendSummary()
    pending = ledger.pending()
    confirmed = store.confirmed_contacts(item.user_id for item in pending)
    ready = []
    for item in pending:
        if item.user_id in confirmed:
            ready.append(item)
        else:
            summary.waiting_for_contact += 1
    for start in range(0, len(ready), SEND_BATCH):
        batch = ready[start : start + SEND_BATCH]
        await asyncio.gather(*(_deliver(client, ledger, item, summary) for item in batch))
    return summary
