"""Command-line options of `python -m resources.emulators stripe` (see resources/emulators/__main__.py)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from resources.emulators.stripe.app import StripeEmulator


def build_from_args(common: argparse.Namespace, argv: Sequence[str]) -> StripeEmulator:
    parser = argparse.ArgumentParser(prog="python -m resources.emulators stripe", add_help=False)
    parser.add_argument("--rate-limit", type=int, default=25, help="requests/s per endpoint; 0 disables")
    parser.add_argument(
        "--api-key", action="append", help="accepted key (repeatable); default: any sk_test_/sk_live_/rk_"
    )
    parser.add_argument("--now", type=int, help="start the emulator clock at this Unix time (default: wall time)")
    parser.add_argument("--livemode", action="store_true", help="objects and events say livemode: true")
    args = parser.parse_args(argv)
    return StripeEmulator(
        api_keys=set(args.api_key) if args.api_key else None,
        now=args.now,
        livemode=args.livemode,
        rate_limit=args.rate_limit or None,
        latency_ms=common.latency_ms,
        seed=common.seed,
    )
