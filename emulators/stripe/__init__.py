"""A stateful, in-memory emulator of the parts of the Stripe API revsync uses.

Modules, one job each: `objects` (shape builders, shared with the demo-world generator),
`params` (bracket decoding), `store` (ordered collections), `expand`, `render` (response copies and
older API versions), `state` (the world, events, load/snapshot), `billing` (the simulation),
`writes` (write endpoints), `listing`, `ratelimit`, `app` (HTTP), `cli`.
"""

from emulators.stripe.app import StripeEmulator
from emulators.stripe.cli import build_from_args
from emulators.stripe.state import BillingSettings

__all__ = ["BillingSettings", "StripeEmulator", "build_from_args"]
