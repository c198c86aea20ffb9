"""The outside world: Stripe, the warehouse, Intercom and the state store, each a ConfigurableResource."""
