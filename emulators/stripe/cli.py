"""`python -m emulators stripe ...`: build the Stripe emulator from command-line arguments."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from emulators.http import EmulatorServer
from emulators.runner import EmulatorRunner, base_parser
from emulators.stripe.app import StripeEmulator


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("stripe", 12111, __doc__)
    parser.add_argument("--rate-limit", type=int, default=25, help="requests/s per endpoint; 0 disables")
    parser.add_argument("--api-key", action="append", dest="api_keys", help="accepted key (repeatable); default any")
    parser.add_argument("--now", type=int, help="start the emulator clock at this Unix time (default: wall time)")
    parser.add_argument("--livemode", action="store_true", help="objects and events carry livemode: true")
    return parser


def build_from_args(argv: Sequence[str]) -> EmulatorRunner:
    args = build_parser().parse_args(list(argv))
    app = StripeEmulator(
        api_keys=set(args.api_keys) if args.api_keys else None,
        now=args.now,
        livemode=args.livemode,
        rate_limit=args.rate_limit or None,
        latency_ms=args.latency_ms,
        seed=args.seed,
    )
    return EmulatorRunner(app, EmulatorServer(app, host=args.host, port=args.port), args.state_file)
