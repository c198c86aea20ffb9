"""`python -m resources.emulators intercom ...`: build the emulator from command-line arguments.

The emulators' `__main__` looks the emulator up by name and calls `build_from_args(argv)` with the
arguments after the name, then `serve_forever()` on the result.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from resources.emulators.http import EmulatorServer

from .app import IntercomEmulator
from .persistence import load_state_file, save_state_file


def _latency(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    try:
        return float(low), float(high or low)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected MIN[,MAX] milliseconds, got {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m resources.emulators intercom", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-file", type=Path, help="JSON state loaded on start and saved on stop")
    parser.add_argument("--latency-ms", type=_latency, default=(0.0, 0.0), help="MIN[,MAX] injected latency")
    parser.add_argument("--rate-limit-per-minute", type=int, default=10_000, help="0 disables the rate limit")
    parser.add_argument("--search-lag-seconds", type=float, default=0.0)
    parser.add_argument("--token", action="append", dest="tokens", help="accepted access token (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


class IntercomRunner:
    """An emulator server plus its state file: loads on start, saves on stop."""

    def __init__(self, app: IntercomEmulator, server: EmulatorServer, state_file: Path | None) -> None:
        self.app = app
        self.server = server
        self.state_file = state_file
        if state_file is not None:
            load_state_file(self.app, state_file)

    @property
    def url(self) -> str:
        return self.server.url

    def save(self) -> None:
        if self.state_file is not None:
            save_state_file(self.app, self.state_file)

    def serve_forever(self) -> None:
        """Serve until SIGINT/SIGTERM, then save the state."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_interrupt)
        print(f"intercom emulator listening on {self.url}", flush=True)
        try:
            self.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.save()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def build_from_args(argv: Sequence[str]) -> IntercomRunner:
    args = build_parser().parse_args(list(argv))
    app = IntercomEmulator(
        access_tokens=set(args.tokens) if args.tokens else None,
        rate_limit_per_minute=args.rate_limit_per_minute or None,
        search_lag_seconds=args.search_lag_seconds,
        latency_ms=args.latency_ms,
        seed=args.seed,
    )
    return IntercomRunner(app, EmulatorServer(app, host=args.host, port=args.port), args.state_file)
