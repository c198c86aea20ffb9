"""Assets, one module per stage, and the pure domain logic beside them."""
