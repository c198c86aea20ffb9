"""Random product usage events for a chunk of users.

Activity is heavily skewed: a user's level is log-normal (most do little, a few do a lot), paying
accounts are busier, about 30 % of users go quiet at some point of their life, and an account's
first user (its admin) invites the rest of the team. Events fall uniformly in each user's active
span, never before signup and never after `as_of`. A user's events are made in one chunk, so a
chunk of users is a chunk of events: memory stays bounded however large the world is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emulators.demo_world.randomness import STREAM_EVENTS, generator

# Events per 365 active days at activity level 1.
EVENT_RATES: dict[str, float] = {
    "report_created": 4.0,
    "project_created": 1.0,
    "dashboard_shared": 1.2,
    "report_exported": 0.8,
    "comment_added": 1.5,
    "teammate_invited": 0.25,
}
EVENT_NAMES = list(EVENT_RATES)
_INVITE = EVENT_NAMES.index("teammate_invited")
QUIET_SHARE = 0.3
PAID_ACTIVITY = 1.5


def event_chunk(
    seed: int,
    chunk: int,
    user_ids: np.ndarray,
    created_at: np.ndarray,
    paid: np.ndarray,
    is_admin: np.ndarray,
    team_size: np.ndarray,
    now: np.datetime64,
) -> pd.DataFrame:
    """Columns as the usage_events table; per-user arrays are aligned with `user_ids`."""
    rng = generator(seed, STREAM_EVENTS, chunk)
    n = len(user_ids)
    start = created_at.astype("datetime64[s]").astype(np.int64)
    horizon = np.int64(now.astype("datetime64[s]").astype(np.int64))
    quiet = rng.random(n) < QUIET_SHARE
    end = np.where(quiet, start + ((horizon - start) * rng.random(n)).astype(np.int64), horizon)
    span = end - start

    level = rng.lognormal(0.0, 1.1, n) * np.where(paid, PAID_ACTIVITY, 1.0)
    lam = level[:, None] * np.asarray(list(EVENT_RATES.values()))[None, :] * (span / (365 * 86_400))[:, None]
    lam[:, _INVITE] += np.where(is_admin, team_size - 1, 0)
    counts = rng.poisson(lam).ravel()

    k = len(EVENT_NAMES)
    user_pos = np.repeat(np.repeat(np.arange(n), k), counts)
    event_pos = np.repeat(np.tile(np.arange(k), n), counts)
    occurred = start[user_pos] + (span[user_pos] * rng.random(len(user_pos))).astype(np.int64)
    return pd.DataFrame(
        {
            "user_id": user_ids[user_pos],
            "event_name": np.asarray(EVENT_NAMES, dtype=object)[event_pos],
            "occurred_at": occurred.astype("datetime64[s]"),
        }
    )
