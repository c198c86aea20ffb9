"""What may be sent: test-mode data, the first run's look-back, facts already sent, the name budget.

Pure: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from assets.lifecycle.model import LifecycleEvent, LifecycleType, intercom_name_key

INTERCOM_EVENT_NAME_LIMIT = 120
DEFAULT_LOOKBACK = timedelta(days=7)

P = TypeVar("P", bound=Mapping[str, Any])


def keep_mode(payloads: Iterable[P], allow_test_mode: bool) -> list[P]:
    """Stripe events or objects to use: live ones, and test-mode (`livemode: false`) ones only if allowed."""
    return [p for p in payloads if allow_test_mode or p.get("livemode")]


def within_lookback(events: Iterable[LifecycleEvent], now: datetime, lookback: timedelta) -> list[LifecycleEvent]:
    """A first run sends recent history only, so Intercom is not flooded with old events."""
    since = now - lookback
    return [e for e in events if e.occurred_at >= since]


@dataclass(frozen=True)
class SentFact:
    """What the ledger remembers of a sent event."""

    key: str
    type: LifecycleType
    subscription_id: str | None
    occurred_at: datetime


def drop_already_sent(
    candidates: Iterable[LifecycleEvent], sent: Iterable[SentFact], since: datetime | None = None
) -> list[LifecycleEvent]:
    """Candidates not sent before: a key sent before is the same fact.

    With `since` (a snapshot diff's older snapshot time), a sent event of the same type and
    subscription at or after `since` is the same transition too: the Events API reported it after
    that snapshot was taken, under a key of its own.
    """
    sent = list(sent)
    keys = {s.key for s in sent}
    recent = set() if since is None else {(s.type, s.subscription_id) for s in sent if s.occurred_at >= since}
    return [c for c in candidates if c.key not in keys and (c.type, c.subscription_id) not in recent]


@dataclass(frozen=True)
class NameBudget:
    distinct: int  # event names in the workspace, ours included, as Intercom counts them
    limit: int
    missing: tuple[str, ...]  # our names Intercom does not have yet
    warning: str | None


def event_name_budget(
    workspace_names: Iterable[str],
    our_names: Sequence[str],
    limit: int = INTERCOM_EVENT_NAME_LIMIT,
    warn_margin: int = 10,
) -> NameBudget:
    """Intercom stores at most `limit` active event names and rejects new ones beyond that."""
    existing = {intercom_name_key(n) for n in workspace_names}
    missing = tuple(n for n in our_names if intercom_name_key(n) not in existing)
    distinct = len(existing) + len({intercom_name_key(n) for n in missing})
    warning = None
    if distinct > limit:
        warning = f"{distinct} distinct event names exceed Intercom's limit of {limit}: new names are rejected"
    elif distinct >= limit - warn_margin:
        warning = f"{distinct} of {limit} Intercom event names in use; archive unused events before adding more"
    return NameBudget(distinct, limit, missing, warning)
