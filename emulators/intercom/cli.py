"""`python -m emulators intercom ...`: build the emulator from command-line arguments."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from emulators.http import EmulatorServer
from emulators.runner import EmulatorRunner, base_parser

from .app import IntercomEmulator


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("intercom", 12112, __doc__)
    parser.add_argument("--rate-limit-per-minute", type=int, default=10_000, help="0 disables the rate limit")
    parser.add_argument("--search-lag-seconds", type=float, default=0.0)
    parser.add_argument("--token", action="append", dest="tokens", help="accepted access token (repeatable)")
    return parser


def build_from_args(argv: Sequence[str]) -> EmulatorRunner:
    args = build_parser().parse_args(list(argv))
    app = IntercomEmulator(
        access_tokens=set(args.tokens) if args.tokens else None,
        rate_limit_per_minute=args.rate_limit_per_minute or None,
        search_lag_seconds=args.search_lag_seconds,
        latency_ms=args.latency_ms,
        seed=args.seed,
    )
    return EmulatorRunner(app, EmulatorServer(app, host=args.host, port=args.port), args.state_file)
