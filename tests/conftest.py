"""Fixtures live in tests/fixtures/, one module per concern, registered here."""

import os

from hypothesis import settings

# The tests run on the emulators: the demo environment, set explicitly (there is no default).
os.environ["REVSYNC_ENV"] = "demo"

# Hypothesis' per-example deadline is a wall-clock threshold: on a loaded two-core CI machine it
# fails correct code. Properties are checked on their results only.
settings.register_profile("revsync", deadline=None)
settings.load_profile("revsync")

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.stripe_emulator",
    "tests.fixtures.intercom_emulator",
]
