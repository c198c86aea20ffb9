"""Concurrent, range-split listings against the Stripe emulator: every object once, whatever the
splits and however many 429s; and the budget's defaults per key mode."""

from __future__ import annotations

import pytest

from emulators.http import FaultRule
from emulators.stripe import objects
from resources.stripe import StripeResource
from resources.stripe_budget import RequestBudget, default_budget
from resources.stripe_ranges import Listing, Page, list_concurrently
from tests.fixtures.stripe_emulator import STRIPE_EPOCH, STRIPE_TEST_KEY

SECONDS, PER_SECOND = 60, 7


def _load_customers(stripe_app) -> set[str]:
    """Seven customers in every second of a minute: any split point falls on a second holding
    objects, so objects created exactly on range boundaries are exercised on every split."""
    rows = [
        objects.customer(f"cus_{second:03d}_{n}", created=STRIPE_EPOCH - SECONDS + second, email=f"{second}.{n}@x.io")
        for second in range(SECONDS)
        for n in range(PER_SECOND)
    ]
    stripe_app.load({"customers": rows})
    return {row["id"] for row in rows}


def _reader(stripe_emulator, concurrency: int = 8):
    return StripeResource(
        api_key=STRIPE_TEST_KEY, base_url=stripe_emulator.url, requests_per_second=1000, max_concurrency=concurrency
    ).reader()


@pytest.mark.parametrize("page_size", [3, 7, 10])
def test_range_split_listing_has_no_duplicates_or_gaps(stripe_emulator, stripe_app, page_size):
    expected = _load_customers(stripe_app)
    reader = _reader(stripe_emulator)
    sent: list[dict] = []

    def fetch(listing: Listing, params: dict) -> Page:
        sent.append(params)
        return reader.page(listing, params)

    found = list_concurrently(fetch, [Listing("customers")], max_concurrency=8, page_size=page_size)
    ids = [c["id"] for c in found["customers"]]
    assert len(ids) == len(expected) and set(ids) == expected
    created = [c["created"] for c in found["customers"]]
    assert created == sorted(created, reverse=True)  # merged newest first
    # It did split, at seconds that hold objects: ranges bounded by `created`, paged on their own.
    bounds = {p["created"].get("lt") for p in sent if "created" in p} - {None}
    assert any(STRIPE_EPOCH - SECONDS < b < STRIPE_EPOCH for b in bounds)  # a populated second
    assert stripe_emulator.app.counters["route:GET GET /v1/customers"] == len(sent)


def test_unsplit_listing_keeps_stripes_order(stripe_emulator, stripe_app):
    _load_customers(stripe_app)
    reader = _reader(stripe_emulator)
    found = list_concurrently(reader.page, [Listing("customers", split=False)], max_concurrency=8, page_size=10)
    assert stripe_emulator.app.counters["route:GET GET /v1/customers"] == -(-SECONDS * PER_SECOND // 10)
    paged = [c["id"] for c in reader.iter_list("customers", {})]
    assert [c["id"] for c in found["customers"]] == paged


def test_a_429_storm_loses_and_repeats_no_page(stripe_emulator, stripe_app):
    expected = _load_customers(stripe_app)
    stripe_app.add_faults(FaultRule(kind="status", status=429, times=None, probability=0.3, path_regex="^/v1/"))
    reader = _reader(stripe_emulator)
    reader.max_rate_limit_retries = 30
    listings = [Listing("customers"), Listing("customers", split=False, label="again")]
    found = list_concurrently(reader.page, listings, max_concurrency=8, page_size=10)
    for key in ("customers", "again"):
        ids = [c["id"] for c in found[key]]
        assert len(ids) == len(expected) and set(ids) == expected
    usage = reader.usage()
    assert usage.rate_limited == stripe_emulator.app.counters["status:429"] > 10
    assert usage.calls == stripe_emulator.app.counters["total"]


def test_the_budget_defaults_follow_the_keys_mode():
    assert default_budget("sk_live_abc") == default_budget("rk_live_abc") == 100.0
    assert default_budget("sk_test_abc") == default_budget("rk_test_abc") == 25.0
    # No endpoint is paced faster than the whole budget.
    assert RequestBudget(10.0, 25.0).per_endpoint == 10.0
    with pytest.raises(ValueError, match="positive"):
        RequestBudget(0, 25)


def test_splits_stay_inside_the_listings_own_created_bounds(stripe_emulator, stripe_app):
    _load_customers(stripe_app)
    since, until = STRIPE_EPOCH - 40, STRIPE_EPOCH - 10
    listing = Listing("customers", {"created": {"gte": since, "lt": until}})
    found = list_concurrently(_reader(stripe_emulator).page, [listing], max_concurrency=8, page_size=3)
    seconds = sorted({c["created"] for c in found["customers"]})
    assert seconds == list(range(since, until)) and len(found["customers"]) == 30 * PER_SECOND
