"""Fixtures live in tests/fixtures/, one module per concern, registered here."""

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.stripe_emulator",
    "tests.fixtures.intercom_emulator",
]
