"""The demo world: random accounts, users and usage plus the planted cases, streamed in chunks.

`build_world` decides everything account-level up front (a few hundred thousand rows at most);
users and their events are generated a chunk at a time by `DemoWorld.chunks`, each chunk from its
own seeded generator, so a million users never sit in memory at once and the same seed always
yields the same world.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import numpy as np
import pandas as pd

from emulators.demo_world import planted
from emulators.demo_world.accounts import random_accounts
from emulators.demo_world.people import user_chunk
from emulators.demo_world.usage import event_chunk

# Part of the world's definition: each chunk of users draws from its own generator, so another
# chunk size would be another (equally valid) world.
CHUNK_USERS = 50_000


@dataclass(frozen=True)
class WorldChunk:
    """Users and their usage events, in the column layout of the warehouse tables (UTC, naive)."""

    users: pd.DataFrame
    events: pd.DataFrame


@dataclass(frozen=True)
class DemoWorld:
    seed: int
    as_of: datetime  # UTC
    accounts: pd.DataFrame  # random then planted; account columns + the billing spec
    random_users: int
    planted_cases: tuple[planted.PlantedCase, ...] = planted.CASES
    planted_customers: tuple[planted.PlantedCustomer, ...] = planted.CUSTOMERS

    @property
    def users(self) -> int:
        return self.random_users + len(self.planted_cases)

    @cached_property
    def _user_account(self) -> np.ndarray:
        """Account position of each random user (users are laid out account by account)."""
        random_sizes = self.accounts["user_count"].to_numpy()[: len(self.accounts) - len(self.planted_cases)]
        return np.repeat(np.arange(len(random_sizes)), random_sizes)

    def chunks(self) -> Iterator[WorldChunk]:
        """Random users in chunks of `CHUNK_USERS`, then the planted cases."""
        for number in range(-(-self.random_users // CHUNK_USERS)):
            yield self.random_chunk(number)
        now = self.as_of
        yield WorldChunk(planted.planted_users(now), planted.planted_events(now))

    def users_frame(self) -> pd.DataFrame:
        """Every user at once: for small worlds and tests."""
        return pd.concat([c.users for c in self.chunks()], ignore_index=True)

    def random_chunk(self, chunk: int) -> WorldChunk:
        """Random users `chunk * CHUNK_USERS` onwards and their events, made from nothing else."""
        index = np.arange(chunk * CHUNK_USERS, min((chunk + 1) * CHUNK_USERS, self.random_users))
        owner = self._user_account
        account = owner[index]
        previous = np.where(index > 0, owner[np.maximum(index - 1, 0)], -1)
        following = np.where(index + 1 < len(owner), owner[np.minimum(index + 1, len(owner) - 1)], -1)
        first, last = account != previous, account != following
        accounts = self.accounts
        now = np.datetime64(self.as_of.replace(tzinfo=None), "s")
        users = user_chunk(
            self.seed,
            chunk,
            index,
            account,
            accounts["account_id"].to_numpy()[account],
            accounts["created_at"].to_numpy()[account],
            first,
            last,
            now,
        )
        plan = accounts["plan"].to_numpy()[account]
        paid = (plan != "free") & (accounts["status"].to_numpy()[account] != "canceled")
        events = event_chunk(
            self.seed,
            chunk,
            users["user_id"].to_numpy(),
            users["created_at"].to_numpy(),
            paid,
            first,
            accounts["user_count"].to_numpy()[account],
            now,
        )
        return WorldChunk(users, events)


def build_world(users: int, seed: int = 7, *, as_of: datetime) -> DemoWorld:
    """A world of `users` users (the planted cases included); `as_of` must be timezone-aware."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if users < len(planted.CASES):
        raise ValueError(f"a world needs at least {len(planted.CASES)} users (the planted cases)")
    as_of = as_of.astimezone(UTC)
    random_users = users - len(planted.CASES)
    accounts = pd.concat(
        [random_accounts(seed, random_users, as_of), planted.planted_accounts(as_of)], ignore_index=True
    )
    return DemoWorld(seed=seed, as_of=as_of, accounts=accounts, random_users=random_users)
