"""Local, stateful emulators of the Stripe and Intercom APIs used by the demo and the tests."""
