"""Random accounts: size, age, and the billing each one has in Stripe.

One row per account, vectorised with numpy (300k accounts for a million users take well under a
second). The billing columns are a spec, not Stripe objects: `billing.py` turns them into objects
through the emulator's builders, and a later history generator can script transitions from them.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from emulators.demo_world.randomness import STREAM_ACCOUNTS, choose, generator, index_hash

HISTORY_DAYS = 730  # accounts signed up over the last two years

PLANS = ["free", "starter", "pro", "enterprise"]
# Larger teams pay more often and for bigger plans.
PLAN_WEIGHTS_SMALL = [0.56, 0.26, 0.15, 0.03]
PLAN_WEIGHTS_LARGE = [0.22, 0.28, 0.32, 0.18]
LARGE_TEAM = 6

CURRENCIES = ["usd", "eur", "gbp", "jpy"]
CURRENCY_WEIGHTS = [0.78, 0.12, 0.08, 0.02]

STATUSES = ["active", "trialing", "past_due", "canceled"]
STATUS_WEIGHTS = [0.85, 0.07, 0.03, 0.05]

# Coupon kinds (see `stripe_world.COUPONS`); amount-off kinds exist once per currency.
COUPONS = ["", "pct20_forever", "pct50_3mo", "off_once", "off_forever"]
COUPON_WEIGHTS = [0.88, 0.04, 0.03, 0.03, 0.02]

# How a paid account's Stripe customer can be tied back to it.
CUSTOMER_MATCHES = ["metadata", "email", "none"]
CUSTOMER_MATCH_WEIGHTS = [0.905, 0.09, 0.005]

_ADJECTIVES = ["Blue", "Bright", "North", "Silver", "Quiet", "Rapid", "Golden", "Clear", "Iron", "Open", "Red", "Wild"]
_NOUNS = ["Harbor", "Pine", "Summit", "River", "Falcon", "Atlas", "Orbit", "Meadow", "Beacon", "Canyon", "Delta"]
_SUFFIXES = ["Labs", "Inc", "GmbH", "Ltd", "Studio", "Analytics", "Group", "Systems", "KK", "SAS"]


def account_sizes(rng: np.random.Generator, users: int) -> np.ndarray:
    """Users per account (1 to 60, mostly 1-5) summing exactly to `users`."""
    if users == 0:
        return np.zeros(0, dtype=np.int64)
    draws = np.minimum(rng.geometric(0.32, size=users // 2 + 16), 60)
    while draws.sum() < users:  # only for tiny worlds
        draws = np.concatenate([draws, draws])
    count = int(np.searchsorted(np.cumsum(draws), users)) + 1
    sizes = draws[:count].copy()
    sizes[-1] -= sizes.sum() - users
    return sizes


def account_names(seed: int, index: np.ndarray) -> np.ndarray:
    h = index_hash(seed, index, salt=11)
    parts = [
        np.asarray(words, dtype=object)[(h >> np.uint64(shift)) % np.uint64(len(words))]
        for words, shift in ((_ADJECTIVES, 0), (_NOUNS, 16), (_SUFFIXES, 32))
    ]
    return parts[0] + " " + parts[1] + " " + parts[2]


def random_accounts(seed: int, users: int, as_of: datetime) -> pd.DataFrame:
    """Columns: account_id, name, created_at, user_count, then the billing spec (see module doc)."""
    rng = generator(seed, STREAM_ACCOUNTS)
    sizes = account_sizes(rng, users)
    n = len(sizes)
    index = np.arange(n)
    now = np.datetime64(as_of.replace(tzinfo=None), "s")

    # More signups recently: age in days ~ 730 * u^1.6, at least one day.
    age_days = np.maximum(HISTORY_DAYS * rng.random(n) ** 1.6, 1.0)
    created = now - (age_days * 86_400).astype("timedelta64[s]")

    large = sizes >= LARGE_TEAM
    plan = np.where(large, choose(rng, PLANS, PLAN_WEIGHTS_LARGE, n), choose(rng, PLANS, PLAN_WEIGHTS_SMALL, n))
    extra_seats = rng.geometric(0.45, size=n) - 1
    seats = np.where(plan == "enterprise", np.maximum(sizes, 10) + 5 * extra_seats, sizes + extra_seats)

    # The subscription starts within 60 days of signup (never in the future).
    billing_age = np.maximum(age_days - rng.random(n) * np.minimum(age_days, 60), 0.5)
    status = choose(rng, STATUSES, STATUS_WEIGHTS, n)
    # A trial is recent by definition: it started 0.5-13 days ago and lasts 14 days.
    billing_age = np.where(status == "trialing", np.minimum(billing_age, 0.5 + 12.5 * rng.random(n)), billing_age)

    frame = pd.DataFrame(
        {
            "account_id": [f"a{i:07d}" for i in index],
            "name": account_names(seed, index),
            "created_at": created,
            "user_count": sizes,
            "plan": plan,
            "currency": choose(rng, CURRENCIES, CURRENCY_WEIGHTS, n),
            "interval": np.where(rng.random(n) < 0.3, "year", "month"),
            "seats": seats,
            "price_variant": np.where(rng.random(n) < 0.25, "tiered", "standard"),
            "status": status,
            "cancel_at_period_end": (status == "active") & (rng.random(n) < 0.05),
            "coupon": choose(rng, COUPONS, COUPON_WEIGHTS, n),
            "customer_match": choose(rng, CUSTOMER_MATCHES, CUSTOMER_MATCH_WEIGHTS, n),
            "billing_started_at": now - (billing_age * 86_400).astype("timedelta64[s]"),
        }
    )
    return frame
