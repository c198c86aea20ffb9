"""What revsync last confirmed in Intercom: the plain store and its Dagster resource.

The resource is loaded on first use (PEP 562): Python runs this file before any submodule, so
an eager import here would make the plain modules that use `resources.state.store` load Dagster.
"""

from typing import TYPE_CHECKING

from resources.state.store import CompanyState, ContactState, StateStore, SyncError

if TYPE_CHECKING:
    from resources.state.resource import StateStoreResource

__all__ = ["CompanyState", "ContactState", "StateStore", "StateStoreResource", "SyncError"]


def __getattr__(name: str) -> object:
    if name == "StateStoreResource":
        from resources.state.resource import StateStoreResource

        return StateStoreResource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
