"""assets/pool: keeps the `intercom_api` concurrency pool free of slots held by dead runs."""
