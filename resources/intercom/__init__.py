"""resources/intercom."""
