"""Run an emulator: `python -m emulators <name> [options]`, e.g.

    python -m emulators stripe --port 12111 --state-file stripe.json --latency-ms 50,150 --rate-limit 25
    python -m emulators intercom --port 12112

Adding an emulator: map its name to "<module>:<function>" in EMULATORS. The module is imported only
when that emulator is chosen (so one missing emulator never breaks the others), and the function is
called as `build_from_args(argv)` with the arguments after the name. It parses them itself (use
--host, --port, --state-file, --latency-ms, --seed for the common ones) and returns a runner whose
`serve_forever()` serves until SIGINT/SIGTERM, loading the state file on start and saving it on stop.
`<name> --help` shows that emulator's options.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Protocol


class Runner(Protocol):
    def serve_forever(self) -> None: ...


EMULATORS: dict[str, str] = {
    "stripe": "emulators.stripe:build_from_args",
    "intercom": "emulators.intercom:build_from_args",
}


def load_builder(name: str) -> Callable[[Sequence[str]], Runner]:
    module_name, _, function = EMULATORS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise SystemExit(f"emulator {name!r} is not available: cannot import {module_name} ({e})") from e
    builder = getattr(module, function, None)
    if builder is None:
        raise SystemExit(f"emulator {name!r} is not available: {module_name} has no {function}()")
    return builder


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in EMULATORS:
        raise SystemExit(f"usage: python -m emulators {{{','.join(sorted(EMULATORS))}}} [options]")
    load_builder(args[0])(args[1:]).serve_forever()


if __name__ == "__main__":
    main()
