"""Holdout assignment: a deterministic hash of (segment, salt, key), the same in every run and process.

SHA-256 of `segment:salt:key` read as a number in [0, 1): below `holdout_percent / 100` is control.
Including the segment name makes segments independent; changing the salt reshuffles one segment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

_SCALE = float(2**64)


def unit_draw(segment: str, salt: str, key: str) -> float:
    digest = hashlib.sha256(f"{segment}:{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def in_control(segment: str, salt: str, keys: Iterable[str], holdout_percent: float) -> np.ndarray:
    """A boolean array: True where the key belongs to the segment's holdout (control) group."""
    draws = np.fromiter((unit_draw(segment, salt, str(k)) for k in keys), dtype=float)
    return draws < holdout_percent / 100
