"""assets/pool: keeps the `intercom_api` and `stripe_api` concurrency pools free of slots held by dead runs."""
