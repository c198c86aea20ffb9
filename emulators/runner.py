"""Running an emulator from the command line: common options, the state file, clean shutdown.

Each emulator's `build_from_args(argv)` parses its own options on top of `base_parser`, builds its
app, and returns an `EmulatorRunner`, which loads the state file on start and saves it on stop.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

import httpx

from emulators.http import EmulatorApp, EmulatorServer


def latency_ms(text: str) -> tuple[float, float]:
    """`MIN[,MAX]` milliseconds."""
    low, _, high = text.partition(",")
    try:
        return float(low), float(high or low)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected MIN[,MAX] milliseconds, got {text!r}") from exc


def base_parser(name: str, default_port: int, description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m emulators {name}", description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port, help="0 picks a free port")
    parser.add_argument("--state-file", type=Path, help="JSON state loaded on start and saved on stop")
    parser.add_argument("--latency-ms", type=latency_ms, default=(0.0, 0.0), help="MIN[,MAX] injected latency")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def load_state_file(app: EmulatorApp, path: Path) -> bool:
    """Load `path` into `app` when it exists; True if something was loaded."""
    if not path.exists():
        return False
    app.restore_state(json.loads(path.read_text()))
    return True


def save_state_file(app: EmulatorApp, path: Path) -> None:
    """Write atomically: a crash mid-write must not leave the next run a truncated file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(app.state_snapshot(), handle)
    os.replace(tmp, path)


def wait_until_healthy(url: str, timeout_s: float = 30.0) -> None:
    """Block until the emulator at `url` answers its health route (one started in another process)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(f"{url}/_emulator/health", timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the emulator at {url} did not start within {timeout_s:.0f} s") from None
            time.sleep(0.1)


class EmulatorRunner:
    """An emulator server plus its state file: loads it on start, saves it on stop."""

    def __init__(self, app: EmulatorApp, server: EmulatorServer, state_file: Path | None) -> None:
        self.app = app
        self.server = server
        self.state_file = state_file
        if state_file is not None:
            load_state_file(app, state_file)

    @property
    def url(self) -> str:
        return self.server.url

    def save(self) -> None:
        if self.state_file is not None:
            save_state_file(self.app, self.state_file)

    def serve_forever(self) -> None:
        """Serve until SIGINT/SIGTERM, then save the state."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_interrupt)  # save on `kill` as on Ctrl-C
        print(f"{self.app.name} emulator listening on {self.url}", flush=True)
        try:
            self.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.save()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
