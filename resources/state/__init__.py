"""resources/state."""
