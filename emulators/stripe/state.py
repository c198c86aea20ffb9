"""The emulator's world: stored objects, the clock, id generation, events, load and snapshot.

Not thread-safe by itself: the app calls it under `EmulatorApp.lock`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from emulators.stripe import objects
from emulators.stripe.periods import days
from emulators.stripe.render import PINNED_API_VERSION, copy_for_response, in_version, previous_attributes
from emulators.stripe.store import Collection

StripeObject = dict[str, Any]
EVENT_RETENTION_SECONDS = days(30)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order: ids sort by age

# collection name → object kind, in the order a load must insert them (references first)
KINDS: dict[str, str] = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "coupons": "coupon",
    "discounts": "discount",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "charges": "charge",
    "invoice_payments": "invoice_payment",
    "refunds": "refund",
    "events": "event",
}
_INDEXED = {"prices": ("product",), "subscriptions": ("customer",), "invoices": ("customer",), "charges": ("customer",)}


@dataclass
class BillingSettings:
    """Dunning: after a failed renewal, retry after each of `retry_schedule_days` in turn; when
    the last retry fails, `final_action` is cancel | unpaid | past_due (leave it)."""

    retry_schedule_days: tuple[int, ...] = (3, 5, 7)
    final_action: str = "cancel"
    trial_will_end_days: int = 3
    incomplete_expiry_seconds: int = 23 * 3600


@dataclass
class EventContext:
    """Applies to events emitted while handling one request or simulation step."""

    api_version: str | None = None
    request_id: str | None = None


@dataclass
class StripeState:
    now: int
    livemode: bool = False
    event_api_version: str = PINNED_API_VERSION
    billing: BillingSettings = field(default_factory=BillingSettings)

    def __post_init__(self) -> None:
        self.collections = {
            name: Collection(_INDEXED.get(name, ()), "start" if name == "discounts" else "created") for name in KINDS
        }
        self.by_kind = {kind: self.collections[name] for name, kind in KINDS.items()}
        self.failing_customers: set[str] = set()
        self.deleted_customers: set[str] = set()  # Stripe still answers a lookup of one: `deleted: true`
        self.trial_will_end_sent: set[str] = set()
        self.context = EventContext()
        self._next_id = 0
        self._payment_by_intent: dict[str, StripeObject] = {}
        self._due: list[tuple[int, int, str, str]] = []  # (when, tiebreak, kind, id)
        self._due_seq = itertools.count()

    # -- ids and lookups ------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        self._next_id += 1
        n, digits = self._next_id, []
        while n:
            n, r = divmod(n, 62)
            digits.append(_BASE62[r])
        return f"{prefix}_1Emu{''.join(reversed(digits)).rjust(12, '0')}"

    def fetch(self, kind: str, object_id: str) -> StripeObject | None:
        if kind == "invoice_payment_by_intent":
            return self._payment_by_intent.get(object_id)
        return self.by_kind[kind].get(object_id)

    # -- writes ---------------------------------------------------------------------------
    def insert(self, kind: str, obj: StripeObject, bulk: bool = False) -> StripeObject:
        self.by_kind[kind].add(obj, bulk)
        if kind == "invoice_payment":
            self._payment_by_intent[obj["payment"]["payment_intent"]] = obj
        if kind in ("subscription", "invoice"):
            self.schedule(obj, bulk)
        return obj

    def replace(self, kind: str, obj: StripeObject) -> StripeObject:
        self.by_kind[kind].replace(obj)
        if kind in ("subscription", "invoice"):
            self.schedule(obj)
        return obj

    def remove(self, kind: str, object_id: str) -> None:
        self.by_kind[kind].remove(object_id)

    # -- the billing timetable ------------------------------------------------------------
    def schedule(self, obj: StripeObject, bulk: bool = False) -> None:
        """Note when `obj` is next due; bulk inserts append and `load` heapifies once."""
        when = self.due_at(obj)
        if when is None:
            return
        entry = (when, next(self._due_seq), obj["object"], obj["id"])
        if bulk:
            self._due.append(entry)
        else:
            heapq.heappush(self._due, entry)

    def due_at(self, obj: StripeObject) -> int | None:
        """When the billing simulation next has something to do for this subscription or invoice."""
        if obj["object"] == "invoice":
            return obj["next_payment_attempt"] if obj["status"] == "open" else None
        status = obj["status"]
        if status == "trialing" and obj["trial_end"] is not None:
            warn = obj["trial_end"] - days(self.billing.trial_will_end_days)
            return obj["trial_end"] if obj["id"] in self.trial_will_end_sent else min(warn, obj["trial_end"])
        if status == "incomplete":
            return obj["created"] + self.billing.incomplete_expiry_seconds
        if status in ("active", "past_due"):
            ends = [i["current_period_end"] for i in obj["items"]["data"]]
            return min([*ends, *([obj["cancel_at"]] if obj["cancel_at"] else [])], default=None)
        return None

    def pop_due(self, until: int) -> StripeObject | None:
        """The next subscription or invoice whose due time is ≤ `until` (stale entries skipped)."""
        while self._due and self._due[0][0] <= until:
            when, _, kind, object_id = heapq.heappop(self._due)
            obj = self.by_kind[kind].get(object_id)
            if obj is not None and self.due_at(obj) == when:
                self.now = max(self.now, when)
                return obj
        return None

    # -- events ---------------------------------------------------------------------------
    @contextmanager
    def event_context(self, api_version: str | None = None, request_id: str | None = None) -> Iterator[None]:
        saved = self.context
        self.context = EventContext(api_version or saved.api_version, request_id or saved.request_id)
        try:
            yield
        finally:
            self.context = saved

    def emit(self, type: str, kind: str, obj: StripeObject, before: StripeObject | None = None) -> StripeObject | None:
        """Record `type` for `obj`; with `before`, an update event carrying `previous_attributes`
        (skipped when nothing visible changed, as Stripe sends no empty updates)."""
        version = self.context.api_version or self.event_api_version
        rendered = in_version(kind, copy_for_response(obj), version, self.fetch)
        previous = None
        if before is not None:
            previous = previous_attributes(in_version(kind, copy_for_response(before), version, self.fetch), rendered)
            if not previous:
                return None
        event = objects.event(
            self.new_id("evt"),
            type=type,
            created=self.now,
            object=rendered,
            api_version=version,
            previous_attributes=previous,
            request_id=self.context.request_id,
            livemode=self.livemode,
        )
        return self.insert("event", event)

    # -- bulk load and snapshot -----------------------------------------------------------
    def load(self, payload: Mapping[str, list[StripeObject]]) -> dict[str, int]:
        """Insert objects in the pinned shape, e.g. from the demo-world generator. Embedded item
        prices are swapped for the stored price of the same id so a big world shares them."""
        unknown = set(payload) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown collections: {sorted(unknown)}")
        counts = {}
        for name, kind in KINDS.items():
            rows = payload.get(name) or []
            prices = self.collections["prices"].by_id
            for obj in rows:
                if kind == "subscription":
                    for item in obj["items"]["data"]:
                        item["price"] = prices.get(item["price"]["id"], item["price"])
                self.insert(kind, obj, bulk=True)
            counts[name] = len(rows)
        heapq.heapify(self._due)
        return counts

    def snapshot(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "livemode": self.livemode,
            "event_api_version": self.event_api_version,
            "billing": asdict(self.billing) | {"retry_schedule_days": list(self.billing.retry_schedule_days)},
            "next_id": self._next_id,
            "failing_customers": sorted(self.failing_customers),
            "deleted_customers": sorted(self.deleted_customers),
            "trial_will_end_sent": sorted(self.trial_will_end_sent),
            "objects": {name: list(c.values()) for name, c in self.collections.items()},
        }

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> StripeState:
        """A state rebuilt from `snapshot()` (e.g. read back from a state file)."""
        billing = dict(snapshot["billing"])
        billing["retry_schedule_days"] = tuple(billing["retry_schedule_days"])
        state = cls(
            now=snapshot["now"],
            livemode=snapshot["livemode"],
            event_api_version=snapshot["event_api_version"],
            billing=BillingSettings(**billing),
        )
        state.failing_customers = set(snapshot["failing_customers"])
        state.deleted_customers = set(snapshot.get("deleted_customers", ()))  # absent from older state files
        state.trial_will_end_sent = set(snapshot["trial_will_end_sent"])  # before load: it shapes due times
        state.load(snapshot["objects"])
        state._next_id = snapshot["next_id"]
        return state
