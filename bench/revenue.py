"""Benchmark: 1,000,000 generated Stripe subscriptions -> per-customer MRR.

Times the vectorised pipeline (flatten + per-subscription MRR + per-customer rollup) on every row,
then the exact per-row `subscription_mrr` on a random sample of the same subscriptions (checking it
agrees with the vectorised figures). `speedup_vs_rowwise` compares per-subscription times of the
vectorised path over DataFrames (mrr + rollup) and the per-row function; the whole-pipeline ratio,
flattening included, is printed beside it. Last line is JSON.

    .venv/bin/python bench/revenue.py [--rows N] [--sample N] [--seed S]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assets.revenue import (
    RevenueRules,
    mrr_by_subscription,
    revenue_by_customer,
    subscription_mrr,
    subscriptions_frame,
)

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
NOW = int(AS_OF.timestamp())
DAY = 86_400
CURRENCIES = ("usd", "eur", "gbp", "jpy")
RULES = RevenueRules(fx_rates={"eur": "1.08", "gbp": "1.27", "jpy": "0.0067"})
STATUSES = ("active",) * 14 + ("past_due", "trialing", "trialing", "canceled", "unpaid", "paused", "incomplete")


def _recurring(interval: str, count: int) -> dict[str, Any]:
    return {"interval": interval, "interval_count": count, "usage_type": "licensed", "meter": None}


def _prices(currency: str) -> list[dict[str, Any]]:
    """Shared price objects of mixed shapes, as the pipeline attaches them after listing prices once."""

    def price(pid: str, **fields: Any) -> dict[str, Any]:
        base = {
            "id": f"price_{pid}_{currency}",
            "currency": currency,
            "billing_scheme": "per_unit",
            "product": f"prod_{pid}",
            "metadata": {"plan": pid.split("_")[0]},
            "lookup_key": None,
            "transform_quantity": None,
            "recurring": _recurring("month", 1),
        }
        return base | fields

    tiers = [
        {"up_to": 5, "unit_amount_decimal": "1000", "flat_amount_decimal": None},
        {"up_to": 20, "unit_amount_decimal": "750.5", "flat_amount_decimal": "2000"},
        {"up_to": None, "unit_amount_decimal": "500", "flat_amount_decimal": "5000"},
    ]
    return [
        price("starter_m", unit_amount_decimal="2900"),
        price("pro_m", unit_amount_decimal="9900", metadata={"plan": "pro", "seats": "true"}),
        price("pro_y", unit_amount_decimal="99000", recurring=_recurring("year", 1)),
        price("pro_q", unit_amount_decimal="27000", recurring=_recurring("month", 3)),
        price("team_w", unit_amount_decimal="1250.75", recurring=_recurring("week", 2)),
        price("api_d", unit_amount_decimal="33", recurring=_recurring("day", 7)),
        price("scale_vol", billing_scheme="tiered", tiers_mode="volume", tiers=tiers),
        price("scale_grad", billing_scheme="tiered", tiers_mode="graduated", tiers=tiers),
        price("pack_t", unit_amount_decimal="5000", transform_quantity={"divide_by": 10, "round": "up"}),
        price("usage_m", unit_amount_decimal="2", recurring={**_recurring("month", 1), "usage_type": "metered"}),
    ]


COUPONS = [
    {"id": "c_20_forever", "percent_off": 20.0, "duration": "forever"},
    {"id": "c_15_rep", "percent_off": 15.5, "duration": "repeating", "duration_in_months": 3},
    {"id": "c_once", "percent_off": 50.0, "duration": "once"},
    {"id": "c_off_usd", "amount_off": 1000, "currency": "usd", "duration": "forever",
     "currency_options": {"eur": {"amount_off": 900}, "gbp": {"amount_off": 800}, "jpy": {"amount_off": 1500}}},
]  # fmt: skip


# Shared immutable values keep 1M generated dicts small (the frames are what is measured).
STARTS = [NOW - days * DAY for days in range(1, 900)]
PERIOD_START, PERIOD_END, TRIAL_END, ENDED, RUNNING = (NOW + d * DAY for d in (-10, 20, 7, -1, 30))
NO_DISCOUNTS: list[dict[str, Any]] = []


def generate(rows: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    prices = {c: _prices(c) for c in CURRENCIES}
    subs = []
    for n in range(rows):
        currency = rng.choices(CURRENCIES, weights=(70, 15, 10, 5))[0]
        status = rng.choice(STATUSES)
        start = rng.choice(STARTS)
        chosen = rng.sample(prices[currency], rng.choices((1, 2, 3), weights=(75, 20, 5))[0])
        items = [
            {
                "id": f"si_{n}_{i}",
                "price": price,
                "quantity": rng.randrange(1, 40),
                "current_period_start": PERIOD_START,
                "current_period_end": PERIOD_END,
                "discounts": NO_DISCOUNTS,
            }
            for i, price in enumerate(chosen)
        ]
        discounts = []
        if rng.random() < 0.2:
            coupon = rng.choice(COUPONS)
            end = RUNNING if coupon["duration"] == "repeating" else None
            discounts.append(
                {"id": f"di_{n}", "source": {"type": "coupon", "coupon": coupon}, "start": start, "end": end}
            )
        subs.append(
            {
                "id": f"sub_{n}",
                "customer": f"cus_{rng.randrange(rows * 7 // 10)}",
                "status": status,
                "currency": currency,
                "cancel_at_period_end": rng.random() < 0.05,
                "created": start,
                "start_date": start,
                "trial_start": start if status == "trialing" else None,
                "trial_end": TRIAL_END if status == "trialing" else None,
                "canceled_at": ENDED if status == "canceled" else None,
                "ended_at": ENDED if status == "canceled" else None,
                "discounts": discounts,
                "items": {"data": items},
            }
        )
    return subs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=50_000, help="subscriptions timed through the per-row path")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    subscriptions = generate(args.rows, args.seed)
    gc.freeze()  # the generated dicts live all run: keep the cyclic GC from rescanning them
    print(f"generated {args.rows:,} subscriptions in {time.perf_counter() - started:.1f} s (not timed below)")

    started_pipeline = time.perf_counter()
    items, flatten_errors = subscriptions_frame(subscriptions)
    flattened = time.perf_counter()
    per_sub, mrr_errors = mrr_by_subscription(items, RULES, AS_OF)
    computed = time.perf_counter()
    customers, rollup_errors = revenue_by_customer(per_sub, RULES)
    seconds = time.perf_counter() - started_pipeline
    errors = len(flatten_errors) + len(mrr_errors) + len(rollup_errors)
    print(
        f"vectorised: {seconds:.2f} s for {args.rows:,} subscriptions ({len(items):,} items, "
        f"{len(customers):,} customers, {errors} errors): flatten {flattened - started_pipeline:.2f} s, "
        f"mrr {computed - flattened:.2f} s, rollup {started_pipeline + seconds - computed:.2f} s"
    )

    sample = random.Random(args.seed + 1).sample(range(args.rows), min(args.sample, args.rows))
    expected = dict(zip(per_sub["subscription_id"], per_sub["mrr_minor"], strict=True))
    started = time.perf_counter()
    results = [subscription_mrr(subscriptions[i], RULES, as_of=AS_OF) for i in sample]
    rowwise = time.perf_counter() - started
    mismatches = sum(m.amount_minor != expected[subscriptions[i]["id"]] for i, m in zip(sample, results, strict=True))
    if mismatches:
        raise SystemExit(f"per-row and vectorised disagree on {mismatches} of {len(sample)} subscriptions")

    per_row_us = rowwise / len(sample) * 1e6
    frame_path_us = (seconds - (flattened - started_pipeline)) / args.rows * 1e6
    pipeline_us = seconds / args.rows * 1e6
    speedup = per_row_us / frame_path_us
    print(
        f"per-row subscription_mrr: {per_row_us:.1f} us/subscription on a random sample of {len(sample):,}, "
        f"all equal to the vectorised figures"
    )
    print(
        f"vectorised path over DataFrames (mrr + rollup): {frame_path_us:.2f} us/subscription -> "
        f"{speedup:.1f}x per-row; whole pipeline incl. flattening the dicts: {pipeline_us:.2f} us/subscription -> "
        f"{per_row_us / pipeline_us:.1f}x"
    )
    print(f"peak RSS {peak_rss_mb():.0f} MB (includes the generated dicts)")
    report = {
        "rows": args.rows,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_rss_mb()),
        "speedup_vs_rowwise": round(speedup, 1),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
