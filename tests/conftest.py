"""Fixtures live in tests/fixtures/, one module per concern, registered here."""

from hypothesis import settings

# Hypothesis' per-example deadline is a wall-clock threshold: on a loaded two-core CI machine it
# fails correct code. Properties are checked on their results only.
settings.register_profile("revsync", deadline=None)
settings.load_profile("revsync")

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.stripe_emulator",
    "tests.fixtures.intercom_emulator",
]
