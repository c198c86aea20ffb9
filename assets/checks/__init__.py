"""assets/checks: the checks that gate every write to Intercom (docs/operations.md)."""
