"""Long lists handled a bounded batch at a time: an `IN (...)` list binds one parameter per key
(SQLite before 3.32 allowed 999 per statement), and one huge executemany holds every row at once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
BATCH = 500


def batched(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
