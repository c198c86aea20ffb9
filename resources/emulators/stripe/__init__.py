"""A stateful, in-memory emulator of the parts of the Stripe API revsync uses.

`objects` holds the shape builders (shared with the demo-world generator).
"""
