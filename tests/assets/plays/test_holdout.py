"""Holdout assignment: stable across runs and processes, independent across segments, the configured share."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from assets.plays.holdout import in_control

KEYS = [f"user_{i}" for i in range(100_000)]


def test_share_is_within_three_standard_errors_on_100k_keys():
    for percent in (5, 20, 50):
        share = in_control("ready_for_pro_upgrade", "s1", KEYS, percent).mean()
        p = percent / 100
        assert abs(share - p) < 3 * math.sqrt(p * (1 - p) / len(KEYS)), (percent, share)


def test_segments_are_independent_and_the_salt_reshuffles():
    a = in_control("segment_a", "s1", KEYS, 50)
    b = in_control("segment_b", "s1", KEYS, 50)
    resalted = in_control("segment_a", "s2", KEYS, 50)
    # Independent halves overlap on a quarter of the keys (within 3 standard errors).
    se = math.sqrt(0.25 * 0.75 / len(KEYS))
    assert abs((a & b).mean() - 0.25) < 3 * se
    assert abs((a & resalted).mean() - 0.25) < 3 * se


def test_stable_across_runs_and_processes():
    here = in_control("team_expansion_candidate", "2026-q4", KEYS[:2000], 20)
    code = (
        "from assets.plays.holdout import in_control;"
        "import sys;"
        "keys=[f'user_{i}' for i in range(2000)];"
        "sys.stdout.write(''.join('1' if c else '0' for c in in_control('team_expansion_candidate','2026-q4',keys,20)))"
    )
    # Another interpreter with another string-hash seed assigns the same groups.
    env = {"PYTHONHASHSEED": "123", "PYTHONPATH": "."}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert other.stdout == "".join("1" if c else "0" for c in here)
    assert np.array_equal(here, in_control("team_expansion_candidate", "2026-q4", KEYS[:2000], 20))


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=50), st.floats(0, 50))
def test_raising_the_share_only_adds_keys_to_control(keys, percent):
    smaller = in_control("x", "salt", keys, percent)
    larger = in_control("x", "salt", keys, min(percent + 5, 50))
    assert not (smaller & ~larger).any()
    assert not in_control("x", "salt", keys, 0).any()
