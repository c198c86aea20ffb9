import pandas as pd

from assets.attributes.account_lifecycle import account_lifecycle

T = 1_800_000_000
DAY = 86_400


def sub(
    sid, customer, status, mrr=1000, *, trial_end=None, period_end=T + 30 * DAY, cancel_at=None, cape=False, ended=None
):
    stamp = lambda v: pd.NaT if v is None else pd.Timestamp(v, unit="s", tz="UTC")  # noqa: E731
    return {
        "subscription_id": sid,
        "customer_id": customer,
        "status": status,
        "mrr_minor": mrr,
        "trial_end_at": stamp(trial_end),
        "current_period_end_at": stamp(period_end),
        "ended_at": stamp(ended),
        "cancel_at_period_end": cape,
        "cancel_at": cancel_at,
    }


def states(*subs, mapping=None):
    frame = pd.DataFrame(list(subs))
    mapping = pd.Series(mapping or {s["customer_id"]: f"acc_{s['customer_id']}" for s in subs})
    result = account_lifecycle(frame, mapping).set_index("account_id")
    return {
        a: (r.subscription_status, None if pd.isna(r.expires_at) else int(r.expires_at.timestamp()))
        for a, r in result.iterrows()
    }


def test_each_state_and_its_expiry():
    assert states(
        sub("s1", "c1", "active"),
        sub("s2", "c2", "trialing", 0, trial_end=T + 5 * DAY),
        sub("s3", "c3", "trialing", 0, trial_end=T + 5 * DAY, cape=True),
        sub("s4", "c4", "active", cape=True),
        sub("s5", "c5", "active", cancel_at=T + 9 * DAY),
        sub("s6", "c6", "past_due"),
        sub("s7", "c7", "paused", 0),
        sub("s8", "c8", "canceled", 0, ended=T - DAY),
        sub("s9", "c9", "active", 0),  # a 100 %-off subscription is worth nothing
    ) == {
        "acc_c1": ("active", T + 30 * DAY),
        "acc_c2": ("trialing", T + 5 * DAY),
        "acc_c3": ("trial_cancelled", T + 5 * DAY),
        "acc_c4": ("cancelled_pending", T + 30 * DAY),
        "acc_c5": ("cancelled_pending", T + 9 * DAY),
        "acc_c6": ("past_due", T + 30 * DAY),
        "acc_c7": ("paused", None),
        "acc_c8": ("expired", T - DAY),
        "acc_c9": ("free", None),
    }


def test_an_account_shows_its_most_engaged_subscription():
    assert states(
        sub("old", "c1", "canceled", 0, ended=T - 90 * DAY),
        sub("new", "c2", "active"),
        mapping={"c1": "acc", "c2": "acc"},
    ) == {"acc": ("active", T + 30 * DAY)}


def test_unmatched_customers_are_left_out():
    assert states(sub("s1", "c1", "active"), mapping={"other": "acc"}) == {}
