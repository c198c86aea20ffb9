"""assets/push."""
