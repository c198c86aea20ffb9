"""The check rules on hand-made frames: each passes, fails with a message naming what to look at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from assets.checks.last_push import accounts_stopped_in_stripe
from assets.checks.rules import revenue_swing, segment_swing, share_at_most, unique_keys, usage_freshness

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_unique_keys_names_missing_and_duplicate_keys():
    assert unique_keys(pd.DataFrame({"external_id": ["a", "b"]}), "external_id", "contacts").passed
    outcome = unique_keys(pd.DataFrame({"external_id": ["a", "a", None, "b"]}), "external_id", "contacts")
    assert not outcome.passed
    assert outcome.metadata["missing_keys"] == 1 and outcome.metadata["duplicate_examples"] == "a"
    assert "contacts `external_id`: 1 row(s) without one, 1 value(s) used more than once" in outcome.summary


def test_usage_freshness_at_and_past_the_limit():
    assert usage_freshness(NOW - timedelta(hours=36), NOW, 36).passed
    stale = usage_freshness(NOW - timedelta(hours=36, minutes=1), NOW, 36)
    assert not stale.passed and "usage_events load is late" in stale.summary
    empty = usage_freshness(None, NOW, 36)
    assert not empty.passed and "no usage event" in empty.summary


@given(st.integers(0, 1000), st.integers(1, 1000), st.floats(0, 100))
def test_share_passes_exactly_when_within_the_limit(count, total, limit):
    count = min(count, total)
    outcome = share_at_most(count, total, limit, "things", "the table")
    assert outcome.passed == (round(100 * count / total, 2) <= limit)
    assert outcome.passed or "see the table" in outcome.summary


def test_share_of_nothing_passes():
    assert share_at_most(0, 0, 0, "things", "x").passed


def _mrr(**values: float) -> pd.Series:
    return pd.Series(values, dtype=float)


def test_revenue_swing_within_the_limit_passes():
    assert revenue_swing(_mrr(a=100, b=100), _mrr(a=100, b=70), set(), set(), 20).passed  # -15 %


def test_revenue_swing_unexplained_by_stripe_fails_naming_the_accounts():
    outcome = revenue_swing(_mrr(a=100, b=100), _mrr(a=100), set(), set(), 20)  # b vanished: -50 %
    assert not outcome.passed
    assert outcome.metadata["swing_percent"] == -50.0 and outcome.metadata["unexplained_examples"] == "b"
    assert "no cancellation or status change in Stripe" in outcome.summary


def test_revenue_swing_explained_by_a_cancellation_passes():
    outcome = revenue_swing(_mrr(a=100, b=100), _mrr(a=100), set(), {"b"}, 20)
    assert outcome.passed and "explained" in outcome.summary


def test_held_back_accounts_keep_their_pushed_value():
    outcome = revenue_swing(_mrr(a=100, b=100), _mrr(a=100), {"b"}, set(), 20)
    assert outcome.passed and outcome.metadata["swing_percent"] == 0.0


def test_gains_explain_themselves_and_a_first_push_has_nothing_to_compare():
    assert revenue_swing(_mrr(a=100), _mrr(a=100, b=900), set(), set(), 20).passed
    assert revenue_swing(pd.Series(dtype=float), _mrr(a=5), set(), set(), 20).passed


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=20), st.floats(0, 100))
def test_unchanged_revenue_always_passes(values, limit):
    series = pd.Series(values, index=[f"a{i}" for i in range(len(values))])
    assert revenue_swing(series, series, set(), set(), limit).passed


def test_segment_swing_warns_on_a_large_move_only():
    assert segment_swing({"s": 100}, {"s": 140}, 50).passed
    outcome = segment_swing({"s": 100, "t": 0}, {"s": 20, "t": 5}, 50)
    assert not outcome.passed and "s 100 -> 20 (-80.0 %)" in outcome.summary
    assert outcome.metadata["t_size"] == 5  # a segment that was empty cannot swing by a share


def test_stripe_stops():
    subscriptions = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "canceled_at": [pd.NaT, pd.Timestamp(NOW), pd.NaT, pd.NaT],
            "ended_at": [pd.NaT, pd.NaT, pd.NaT, pd.NaT],
            "mrr_minor": [100, 0, 0, 100],
            "list_mrr_minor": [100, 100, 100, 100],  # c3: past_due, no longer counted
        }
    )
    accounts = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"], "account_id": ["a1", "a2", "a3", "a4"]})
    assert accounts_stopped_in_stripe(subscriptions, accounts) == {"a2", "a3"}
