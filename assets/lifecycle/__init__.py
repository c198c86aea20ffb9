"""assets/lifecycle."""
