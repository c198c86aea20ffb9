"""What revsync last confirmed in Intercom: the plain store and its Dagster resource."""

from resources.state.resource import StateStoreResource
from resources.state.store import CompanyState, ContactState, StateStore, SyncError

__all__ = ["CompanyState", "ContactState", "StateStore", "StateStoreResource", "SyncError"]
