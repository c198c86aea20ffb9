"""Fixtures live in tests/fixtures/, one module per concern, registered here."""

import os

# The tests run on the emulators: the demo environment, set explicitly (there is no default).
os.environ["REVSYNC_ENV"] = "demo"

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.stripe_emulator",
    "tests.fixtures.intercom_emulator",
]
