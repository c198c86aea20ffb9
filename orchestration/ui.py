"""`make ui`: the Dagster UI on the demo's data, with both emulators serving what `make demo` left.

The emulators run on the ports `.env.example` names, loaded from the demo's state files under
`data/` (and saved back on exit), and `dg dev` gets their addresses, the demo's warehouse and
demo credentials, so `nightly_sync` can be launched from the UI straight away. Dagster's services
log at INFO; runs launched from the UI log at INFO too (`python_logs` in dagster-instance.yaml), not
every DEBUG step event. Port 0 picks a free port (`make ui-test` runs the stack beside a running
`make ui`).
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from emulators.http import EmulatorServer
from emulators.intercom import IntercomEmulator
from emulators.runner import load_state_file, save_state_file
from emulators.stripe import StripeEmulator
from orchestration.demo import INTERCOM_STATE, INTERCOM_TOKEN, STRIPE_KEY, STRIPE_STATE

STRIPE_PORT, INTERCOM_PORT = 12111, 12112


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.ui", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--port", type=int, default=3000, help="the UI's port (0: a free one)")
    parser.add_argument("--stripe-port", type=int, default=STRIPE_PORT, help="0: a free one")
    parser.add_argument("--intercom-port", type=int, default=INTERCOM_PORT, help="0: a free one")
    args = parser.parse_args(argv)
    port = args.port or free_port()

    stripe_app, intercom_app = StripeEmulator(), IntercomEmulator(access_tokens={INTERCOM_TOKEN})
    if not load_state_file(stripe_app, args.data_dir / STRIPE_STATE):
        print("no demo data yet: run `make demo` first for a populated Stripe emulator", file=sys.stderr)
    load_state_file(intercom_app, args.data_dir / INTERCOM_STATE)
    stripe_server = EmulatorServer(stripe_app, port=args.stripe_port).start()
    intercom_server = EmulatorServer(intercom_app, port=args.intercom_port).start()
    venv = Path(sys.executable).parent.parent
    env = os.environ | {
        "VIRTUAL_ENV": str(venv),  # dg warns when the active virtualenv is not the project's
        "REVSYNC_ENV": "demo",
        "STRIPE_API_KEY": STRIPE_KEY,
        "STRIPE_BASE_URL": stripe_server.url,
        "INTERCOM_ACCESS_TOKEN": INTERCOM_TOKEN,
        "INTERCOM_BASE_URL": intercom_server.url,
        "REVSYNC_WAREHOUSE_URL": f"sqlite:///{(args.data_dir / 'warehouse.db').resolve()}",
    }
    dg = shutil.which("dg", path=str(Path(sys.executable).parent)) or "dg"
    print(f"revsync ui: http://127.0.0.1:{port} (emulators: {stripe_server.url}, {intercom_server.url})", flush=True)
    try:
        command = [dg, "dev", "--log-level", "info", "-h", "127.0.0.1", "-p", str(port)]
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
