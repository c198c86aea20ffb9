"""Version-tolerant reading of Stripe subscription, invoice and charge payloads.

An event's `data.object` keeps the API version the event was created with, so a cursor over 30 days
of events meets several shapes. Everything here renders a payload in the pinned version's shape
(`2026-10-28.endive`) first and reads that one shape afterwards:

- pre-basil (< 2025-03-31): `current_period_start/end` on the subscription, not on each item;
  singular `discount` (a full object) beside `discounts` (ids); `invoice.subscription`;
- pre-clover (< 2025-09-30): `discount.coupon` instead of `discount.source.coupon`;
- legacy single-plan subscriptions: top-level `plan`/`quantity`, items carrying `plan` but no `price`.

Pure functions: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Payload = Mapping[str, Any]

TERMINAL_STATUSES = frozenset({"canceled", "unpaid", "incomplete_expired"})


def object_id(value: Any) -> str | None:
    """The id of a reference that may be a plain id or an expanded object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value


def apply_previous(current: Payload, previous_attributes: Payload) -> dict[str, Any]:
    """The object as it was before an `*.updated` event.

    Stripe sends the old values of changed keys: plain hashes (metadata, cancellation_details) only
    their changed keys, API objects (those with an `object` field, such as `items`) and lists whole.
    """
    before = dict(current)
    for key, old in previous_attributes.items():
        now = before.get(key)
        if isinstance(old, Mapping) and isinstance(now, Mapping) and "object" not in old:
            before[key] = apply_previous(now, old)
        else:
            before[key] = old
    return before


def _price_from_plan(plan: Payload) -> dict[str, Any]:
    """A legacy `plan` object in the shape of a recurring `price`."""
    return {
        "id": plan.get("id"),
        "object": "price",
        "billing_scheme": plan.get("billing_scheme", "per_unit"),
        "currency": plan.get("currency"),
        "livemode": plan.get("livemode", False),
        "lookup_key": None,
        "nickname": plan.get("nickname"),
        "product": plan.get("product"),
        "recurring": {
            "interval": plan.get("interval"),
            "interval_count": plan.get("interval_count", 1),
            "meter": plan.get("meter"),
            "trial_period_days": plan.get("trial_period_days"),
            "usage_type": plan.get("usage_type", "licensed"),
        },
        "tiers_mode": plan.get("tiers_mode"),
        **({"tiers": plan["tiers"]} if "tiers" in plan else {}),
        "transform_quantity": plan.get("transform_usage"),
        "type": "recurring",
        "unit_amount": plan.get("amount"),
        "unit_amount_decimal": plan.get("amount_decimal"),
    }


def normalise_discount(discount: Any) -> Any:
    """A discount in the clover+ shape (`source.coupon`); ids are returned unchanged."""
    if not isinstance(discount, Mapping) or "source" in discount:
        return discount
    out = {key: value for key, value in discount.items() if key != "coupon"}
    out["source"] = {"type": "coupon", "coupon": discount.get("coupon")}
    return out


def _merge_singular_discount(discounts: list[Any], discount: Any) -> list[Any]:
    """Fold a pre-basil singular `discount` (full object) into `discounts`, replacing its bare id."""
    if not isinstance(discount, Mapping):
        return discounts
    ids = [object_id(d) for d in discounts]
    if discount.get("id") in ids:
        return [discount if object_id(d) == discount.get("id") else d for d in discounts]
    return [*discounts, discount]


def _normalise_item(item: Payload, period: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(item)
    if out.get("price") is None and isinstance(out.get("plan"), Mapping):
        out["price"] = _price_from_plan(out["plan"])
    out.pop("plan", None)
    for key, value in period.items():
        if out.get(key) is None:
            out[key] = value
    out["discounts"] = [normalise_discount(d) for d in out.get("discounts") or []]
    return out


def normalise_subscription(raw: Payload) -> dict[str, Any]:
    """A subscription payload of any API version, rendered in the pinned version's shape.

    `raw` is never changed: the result is a shallow copy whose changed parts (items, discounts) are
    new objects, so it shares the unchanged nested values with `raw` instead of copying them all.
    """
    sub = dict(raw)
    # Pre-basil periods lived on the subscription; each item inherits them.
    period: dict[str, Any] = {key: sub.pop(key) for key in ("current_period_start", "current_period_end") if key in sub}
    legacy_plan = sub.pop("plan", None)
    legacy_quantity = sub.pop("quantity", None)
    items = (sub.get("items") or {}).get("data") or []
    if not items and isinstance(legacy_plan, Mapping):
        items = [{"id": f"{sub.get('id')}:plan", "plan": legacy_plan, "quantity": legacy_quantity}]
    sub["items"] = {"object": "list", "data": [_normalise_item(item, period) for item in items]}
    discounts = _merge_singular_discount(list(sub.get("discounts") or []), sub.pop("discount", None))
    sub["discounts"] = [normalise_discount(d) for d in discounts]
    return sub


def invoice_subscription_id(invoice: Payload) -> str | None:
    """The invoice's subscription: `parent.subscription_details` (basil+) or `subscription` (older)."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return object_id(details.get("subscription")) or object_id(invoice.get("subscription"))


@dataclass(frozen=True)
class ItemView:
    id: str
    price_id: str | None
    product_id: str | None
    unit_amount: int | None
    currency: str | None
    quantity: int | None
    usage_type: str
    lookup_key: str | None
    nickname: str | None
    current_period_start: int | None
    current_period_end: int | None

    @classmethod
    def from_item(cls, item: Payload) -> ItemView:
        price = item.get("price") or {}
        recurring = price.get("recurring") or {}
        return cls(
            id=item.get("id", ""),
            price_id=price.get("id"),
            product_id=object_id(price.get("product")),
            unit_amount=price.get("unit_amount"),
            currency=price.get("currency"),
            quantity=item.get("quantity"),
            usage_type=recurring.get("usage_type") or "licensed",
            lookup_key=price.get("lookup_key"),
            nickname=price.get("nickname"),
            current_period_start=item.get("current_period_start"),
            current_period_end=item.get("current_period_end"),
        )


@dataclass(frozen=True)
class SubscriptionView:
    """The fields lifecycle rules read, from a subscription payload of any version.

    `pinned` is the whole subscription in the pinned shape, for the revenue engine's MRR.
    """

    id: str
    customer_id: str
    status: str
    livemode: bool
    currency: str
    start_date: int | None
    trial_start: int | None
    trial_end: int | None
    cancel_at_period_end: bool
    cancel_at: int | None
    canceled_at: int | None
    ended_at: int | None
    cancellation_reason: str | None
    latest_invoice: str | None
    items: tuple[ItemView, ...]
    pinned: Mapping[str, Any] = field(compare=False, repr=False)

    @classmethod
    def from_payload(cls, raw: Payload) -> SubscriptionView:
        sub = normalise_subscription(raw)
        return cls(
            id=sub["id"],
            customer_id=object_id(sub.get("customer")) or "",
            status=sub.get("status") or "",
            livemode=bool(sub.get("livemode")),
            currency=(sub.get("currency") or "usd").lower(),
            start_date=sub.get("start_date"),
            trial_start=sub.get("trial_start"),
            trial_end=sub.get("trial_end"),
            cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
            cancel_at=sub.get("cancel_at"),
            canceled_at=sub.get("canceled_at"),
            ended_at=sub.get("ended_at"),
            cancellation_reason=(sub.get("cancellation_details") or {}).get("reason"),
            latest_invoice=object_id(sub.get("latest_invoice")),
            items=tuple(ItemView.from_item(item) for item in sub["items"]["data"]),
            pinned=sub,
        )

    @property
    def cancel_scheduled(self) -> bool:
        """Cancelled by request but still running (at period end or at `cancel_at`)."""
        return self.status not in TERMINAL_STATUSES and (self.cancel_at_period_end or self.cancel_at is not None)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def period_start(self) -> int | None:
        return max((i.current_period_start for i in self.items if i.current_period_start is not None), default=None)

    @property
    def period_end(self) -> int | None:
        """When the subscription renews: the earliest item period end."""
        return min((i.current_period_end for i in self.items if i.current_period_end is not None), default=None)

    @property
    def price_ids(self) -> frozenset[str]:
        return frozenset(i.price_id for i in self.items if i.price_id)

    @property
    def main_item(self) -> ItemView | None:
        """The first licensed item (metered add-ons are not the plan)."""
        licensed = [i for i in self.items if i.usage_type != "metered"]
        candidates = licensed or list(self.items)
        return candidates[0] if candidates else None
