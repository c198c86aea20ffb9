"""Seeded randomness that can be regenerated piece by piece.

Every stream (accounts, users, events) and every chunk of it draws from its own generator,
derived from (seed, stream, chunk), so chunk 7 is the same whether or not chunks 0-6 were made:
the world is streamed in bounded memory and any chunk can be rebuilt alone. Per-item choices that
other items refer to (names, emails) come from a hash of the item index instead of a generator.
"""

from __future__ import annotations

import numpy as np

STREAM_ACCOUNTS = 1
STREAM_USERS = 2
STREAM_EVENTS = 3


def generator(seed: int, stream: int, chunk: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream, chunk])


def index_hash(seed: int, index: np.ndarray, salt: int) -> np.ndarray:
    """A well-mixed uint64 per index (splitmix64 finaliser), stable for (seed, index, salt)."""
    with np.errstate(over="ignore"):
        x = index.astype(np.uint64) + np.uint64((seed * 0x9E3779B1 + salt * 0x85EBCA77) & 0xFFFFFFFFFFFFFFFF)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def choose(rng: np.random.Generator, options: list[str], weights: list[float], size: int) -> np.ndarray:
    """`size` picks from `options` with the given (unnormalised) weights, as an object array."""
    p = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=p / p.sum())]
