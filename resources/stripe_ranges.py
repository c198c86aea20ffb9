"""Several Stripe listings at once, each split into `created` ranges that are paged concurrently.

Stripe pages a list newest first with a `starting_after` cursor, one page after another. To page
one big list (a million subscriptions) in parallel, a listing whose page says `has_more` is split
while workers are idle: with the last object of the page created at `c` and the range's lower bound
`lo`, the rest of the range becomes two disjoint ranges,

- `[mid, …]` continued from the same cursor (every object in it is older than the cursor), and
- `[lo, mid)` started afresh (every object in it has `created < mid <= c`, so it is older than
  anything read so far),

with `lo < mid <= c`. An object's `created` never changes, so every object falls in exactly one
range: the merge has neither duplicates nor gaps, whatever the split points. A page answered 429
is retried with the same parameters by the caller's `fetch`, so no page is lost or repeated.

`pages_concurrently` hands each page over as it arrives (a million subscriptions need not be held
at once); `list_concurrently` collects them, for listings small enough to hold.

Plain Python (no Dagster, no HTTP): `fetch` does the calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

StripeObject = dict[str, Any]
# Lower bound used only to choose split points (Stripe launched in 2011; nothing is older).
_EARLIEST = 1_293_840_000


@dataclass(frozen=True)
class Listing:
    """One list endpoint to read whole: `name` is the SDK service (`subscriptions`), `params` its filters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    split: bool = True  # False keeps Stripe's order (one cursor chain), e.g. for events
    label: str | None = None  # the result's key when one endpoint is listed twice (default: name)

    @property
    def key(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Page:
    data: list[StripeObject]
    has_more: bool


@dataclass(frozen=True)
class _Range:
    listing: Listing
    gte: int | None = None
    lt: int | None = None
    cursor: str | None = None

    def params(self, page_size: int) -> dict[str, Any]:
        created = {k: v for k, v in (("gte", self.gte), ("lt", self.lt)) if v is not None}
        params: dict[str, Any] = {**self.listing.params, "limit": page_size}
        if created:
            params["created"] = {**params.get("created", {}), **created}
        if self.cursor:
            params["starting_after"] = self.cursor
        return params


Fetch = Callable[[Listing, dict[str, Any]], Page]


def _split(task: _Range, last_created: int) -> tuple[_Range, _Range] | None:
    """(the continued upper part, the fresh lower part), or None when the range is too narrow."""
    lo = task.gte if task.gte is not None else min(_EARLIEST, last_created)
    if last_created - lo < 2:
        return None
    mid = lo + (last_created - lo) // 2 + 1  # lo < mid <= last_created
    return replace(task, gte=mid), replace(task, lt=mid, cursor=None)


def pages_concurrently(
    fetch: Fetch, listings: Iterable[Listing], *, max_concurrency: int, page_size: int = 100
) -> Iterator[tuple[Listing, list[StripeObject]]]:
    """Every page of every listing, as `(listing, objects)` in the order the pages arrive, so a
    caller can store each page and let it go instead of holding every listing whole. At most
    `max_concurrency` pages are in flight; a range's next page is asked for before its page is
    handed over, so the caller's work on a page overlaps the requests. Raises on a repeated id."""
    listings = list(listings)
    if len({listing.key for listing in listings}) != len(listings):
        raise ValueError("each listing must have its own key")
    seen: dict[str, set[str]] = {listing.key: set() for listing in listings}
    with ThreadPoolExecutor(max_workers=max(1, max_concurrency), thread_name_prefix="stripe") as pool:
        pending: dict[Future[Page], _Range] = {}

        def submit(task: _Range) -> None:
            pending[pool.submit(fetch, task.listing, task.params(page_size))] = task

        for listing in listings:
            base = listing.params.get("created") or {}
            submit(_Range(listing, gte=base.get("gte"), lt=base.get("lt")))  # splits stay inside them
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    page = future.result()
                    _refuse_duplicates(task.listing.key, page.data, seen[task.listing.key])
                    if page.has_more and page.data:
                        _continue(task, page, submit, room=max_concurrency - len(pending))
                    yield task.listing, page.data
        finally:
            for future in pending:  # the caller stopped early or failed: no new page is read
                future.cancel()


def _continue(task: _Range, page: Page, submit: Callable[[_Range], None], room: int) -> None:
    """Ask for the rest of a range: split in two while workers are idle, else its next page."""
    follow = replace(task, cursor=page.data[-1]["id"])
    halves = _split(follow, page.data[-1]["created"]) if task.listing.split else None
    if halves is not None and room >= 2:
        submit(halves[0])
        submit(halves[1])
    else:
        submit(follow)


def list_concurrently(
    fetch: Fetch, listings: Iterable[Listing], *, max_concurrency: int, page_size: int = 100
) -> dict[str, list[StripeObject]]:
    """Every object of every listing, by listing key, held whole (for short listings such as
    events). An unsplit listing keeps Stripe's order (newest first); a split one is ordered by
    `created`, newest first."""
    listings = list(listings)
    results: dict[str, list[StripeObject]] = {listing.key: [] for listing in listings}
    for listing, objects in pages_concurrently(fetch, listings, max_concurrency=max_concurrency, page_size=page_size):
        results[listing.key].extend(objects)
    for listing in listings:
        if listing.split:
            results[listing.key].sort(key=lambda o: o["created"], reverse=True)
    return results


def _refuse_duplicates(name: str, objects: list[StripeObject], seen: set[str]) -> None:
    """Ranges are disjoint by construction; a repeat means Stripe broke its paging contract."""
    for obj in objects:
        if obj["id"] in seen:
            raise RuntimeError(f"Stripe listing {name} returned {obj['id']} twice")
        seen.add(obj["id"])
