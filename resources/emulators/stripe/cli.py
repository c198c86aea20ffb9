"""`python -m resources.emulators stripe ...`: build the Stripe emulator from command-line arguments."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from resources.emulators.http import EmulatorServer
from resources.emulators.stripe.app import StripeEmulator


def _latency(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    try:
        return float(low), float(high or low)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected MIN[,MAX] milliseconds, got {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m resources.emulators stripe", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    parser.add_argument("--state-file", type=Path, help="JSON state loaded on start and saved on stop")
    parser.add_argument("--latency-ms", type=_latency, default=(0.0, 0.0), help="MIN[,MAX] injected latency")
    parser.add_argument("--rate-limit", type=int, default=25, help="requests/s per endpoint; 0 disables")
    parser.add_argument("--api-key", action="append", dest="api_keys", help="accepted key (repeatable); default any")
    parser.add_argument("--now", type=int, help="start the emulator clock at this Unix time (default: wall time)")
    parser.add_argument("--livemode", action="store_true", help="objects and events carry livemode: true")
    parser.add_argument("--seed", type=int, default=0)
    return parser


class StripeRunner:
    """The server plus its state file: loads it on start, saves it on stop."""

    def __init__(self, app: StripeEmulator, server: EmulatorServer, state_file: Path | None) -> None:
        self.app = app
        self.server = server
        self.state_file = state_file
        if state_file is not None and state_file.exists():
            app.restore_state(json.loads(state_file.read_text()))

    @property
    def url(self) -> str:
        return self.server.url

    def save(self) -> None:
        if self.state_file is not None:
            self.state_file.write_text(json.dumps(self.app.state_snapshot()))

    def serve_forever(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_interrupt)  # save on `kill` as on Ctrl-C
        print(f"stripe emulator listening on {self.url}", flush=True)
        try:
            self.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.save()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def build_from_args(argv: Sequence[str]) -> StripeRunner:
    args = build_parser().parse_args(list(argv))
    app = StripeEmulator(
        api_keys=set(args.api_keys) if args.api_keys else None,
        now=args.now,
        livemode=args.livemode,
        rate_limit=args.rate_limit or None,
        latency_ms=args.latency_ms,
        seed=args.seed,
    )
    return StripeRunner(app, EmulatorServer(app, host=args.host, port=args.port), args.state_file)
