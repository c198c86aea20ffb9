"""`StateStoreResource`: the state store as a Dagster resource, created once per run."""

from __future__ import annotations

import dagster as dg
from pydantic import Field, PrivateAttr

from resources.state.store import StateStore


class StateStoreResource(dg.ConfigurableResource):
    """The state store for Dagster: `url` is the warehouse URL unless told otherwise."""

    url: str = Field(repr=False, description="SQLAlchemy URL; by default the warehouse's (may hold a password).")
    table_prefix: str = Field(default="revsync_", description="Prefix of every state table.")

    _store: StateStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._store = StateStore(self.url, self.table_prefix)
        self._store.create_all()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._store is not None:
            self._store.dispose()

    @property
    def store(self) -> StateStore:
        if self._store is None:  # used outside a run (direct construction in scripts)
            self._store = StateStore(self.url, self.table_prefix)
            self._store.create_all()
        return self._store
