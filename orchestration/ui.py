"""`make ui`: the Dagster UI on the demo's data, with both emulators serving what `make demo` left.

The emulators run on the ports `.env.example` names, loaded from the demo's state files under
`data/` (and saved back on exit), and `dg dev` gets their addresses and demo credentials, so
`nightly_sync` can be launched from the UI straight away. Dagster's services log at INFO; runs
launched from the UI log at INFO too (`python_logs` in dagster-instance.yaml), not every DEBUG
step event.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from emulators.http import EmulatorServer
from emulators.intercom import IntercomEmulator
from emulators.runner import load_state_file, save_state_file
from emulators.stripe import StripeEmulator
from orchestration.demo import INTERCOM_STATE, INTERCOM_TOKEN, STRIPE_KEY, STRIPE_STATE

STRIPE_PORT, INTERCOM_PORT = 12111, 12112


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.ui", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)

    stripe_app, intercom_app = StripeEmulator(), IntercomEmulator(access_tokens={INTERCOM_TOKEN})
    if not load_state_file(stripe_app, args.data_dir / STRIPE_STATE):
        print("no demo data yet: run `make demo` first for a populated Stripe emulator", file=sys.stderr)
    load_state_file(intercom_app, args.data_dir / INTERCOM_STATE)
    stripe_server = EmulatorServer(stripe_app, port=STRIPE_PORT).start()
    intercom_server = EmulatorServer(intercom_app, port=INTERCOM_PORT).start()
    venv = Path(sys.executable).parent.parent
    env = os.environ | {
        "VIRTUAL_ENV": str(venv),  # dg warns when the active virtualenv is not the project's
        "REVSYNC_ENV": "demo",
        "STRIPE_API_KEY": STRIPE_KEY,
        "STRIPE_BASE_URL": stripe_server.url,
        "INTERCOM_ACCESS_TOKEN": INTERCOM_TOKEN,
        "INTERCOM_BASE_URL": intercom_server.url,
    }
    dg = shutil.which("dg", path=str(Path(sys.executable).parent)) or "dg"
    try:
        command = [dg, "dev", "--log-level", "info", "-h", "127.0.0.1", "-p", str(args.port)]
        return subprocess.run(command, env=env, check=False).returncode
    except KeyboardInterrupt:
        return 0
    finally:
        stripe_server.stop()
        intercom_server.stop()
        save_state_file(stripe_app, args.data_dir / STRIPE_STATE)
        save_state_file(intercom_app, args.data_dir / INTERCOM_STATE)


if __name__ == "__main__":
    sys.exit(main())
