"""Deterministic ids: the same seed and the same calls give the same ids, run after run."""

from __future__ import annotations

import hashlib


class IdFactory:
    """24 lower-case hex ids, like Intercom's, derived from a seed and a counter."""

    def __init__(self, seed: int, issued: int = 0) -> None:
        self.seed = seed
        self.issued = issued

    def next(self) -> str:
        self.issued += 1
        return hashlib.sha256(f"{self.seed}:{self.issued}".encode()).hexdigest()[:24]


def plan_id(name: str) -> str:
    """Intercom returns plans as objects with a numeric id; the same name always gets the same id."""
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))
