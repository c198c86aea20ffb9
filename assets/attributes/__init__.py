"""assets/attributes."""
