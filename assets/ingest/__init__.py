"""assets/ingest."""
