"""The README's production deployment, for real: `dagster-webserver` and `dagster-daemon` on a
PostgreSQL-backed instance, and a sensor tick that launches a run which succeeds.

The instance's `dagster.yaml` is the block in the README's "Deploying with Postgres storage"
section, read from the README itself, and the services are started with the commands it lists.
Stripe and Intercom are the emulators; the warehouse is the demo world.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe

from assets.lifecycle.from_events import STRIPE_EVENT_TYPES
from assets.lifecycle.ledger import Cursor, EventLedger
from emulators.stripe import StripeEmulator
from orchestration.ui import free_port
from resources.state import StateStoreResource
from tests.e2e.harness import INTERCOM_TOKEN, STRIPE_KEY, sync_world
from tests.fixtures.ui_stack import REPO, UiStack, stop_process_group, wait_until_ready

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SENSOR = "stripe_lifecycle_events_sensor"
WEBSERVER = "dagster-webserver -w workspace.yaml"
DAEMON = "dagster-daemon run -w workspace.yaml"
SENSOR_START = f"dagster sensor start {SENSOR} -w workspace.yaml"


def _deploy_section() -> str:
    text = (REPO / "README.md").read_text()
    return text.split("## Deploying with Postgres storage", 1)[1].split("\n## ", 1)[0]


def test_readme_deploy_section_lists_the_commands_this_test_runs():
    section = _deploy_section()
    for command in (WEBSERVER, DAEMON, SENSOR_START):
        assert command in section, command
    assert "storage:" in _readme_dagster_yaml()


def _readme_dagster_yaml() -> str:
    match = re.search(r"```yaml\n(.*?)```", _deploy_section(), re.S)
    assert match, "the README's deploy section has no dagster.yaml block"
    return match.group(1)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _start(command: str, env: dict[str, str], log: Path, extra: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    program, *args = command.split()
    with log.open("w") as out:
        command = [_bin(program), *args, *extra]
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


class StripeEvents:
    """Subscriptions created through the Stripe emulator's API, each one a lifecycle event."""

    def __init__(self, url: str, app: StripeEmulator) -> None:
        self.client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": url})
        self.app = app
        self.customer = self.client.v1.customers.list({"limit": 1}).data[0].id
        self.price = self.client.v1.prices.list({"limit": 1, "active": True}).data[0].id

    def subscribe(self) -> None:
        self.app.set_clock(self.app.state.now + 60)
        self.client.v1.subscriptions.create({"customer": self.customer, "items": [{"price": self.price}]})

    def newest(self) -> Cursor:
        event = self.client.v1.events.list({"types": list(STRIPE_EVENT_TYPES), "limit": 1}).data[0]
        return Cursor(event.id, event.created)


def _production_home(home: Path, storage_url: str) -> dict[str, str]:
    """DAGSTER_HOME with the README's dagster.yaml, and the variables it reads."""
    home.mkdir()
    (home / "dagster.yaml").write_text(_readme_dagster_yaml())
    url = sa.make_url(storage_url)
    return {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_USER": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_DB": str(url.database),
        "DAGSTER_PG_PORT": str(url.port or 5432),
    }


def test_daemon_launches_a_sensor_run_on_postgres_storage(postgres_url, sqlite_url, tmp_path):
    home = tmp_path / "dagster_home"
    storage_env = _production_home(home, postgres_url)
    with sync_world(sqlite_url) as world:
        assert isinstance(world.stripe.app, StripeEmulator)
        events = StripeEvents(world.stripe.url, world.stripe.app)
        events.subscribe()
        env = (
            os.environ
            | storage_env
            | {
                "REVSYNC_ENV": "demo",
                "STRIPE_API_KEY": STRIPE_KEY,
                "STRIPE_BASE_URL": world.stripe.url,
                "INTERCOM_ACCESS_TOKEN": INTERCOM_TOKEN,
                "INTERCOM_BASE_URL": world.intercom.url,
                "REVSYNC_WAREHOUSE_URL": sqlite_url,
                # The world was built at the harness's fixed date and its planted unmatched
                # customers are a large share of 150 users: thresholds for this world, as a
                # deployment sets them.
                "REVSYNC_CHECK_USAGE_MAX_AGE_HOURS": str(24 * 365 * 10),
                "REVSYNC_CHECK_MAX_UNMATCHED_CUSTOMER_PERCENT": "20",
            }
        )
        port = free_port()
        webserver = _start(WEBSERVER, env, tmp_path / "webserver.log", ("-h", "127.0.0.1", "-p", str(port)))
        daemon = _start(DAEMON, env, tmp_path / "daemon.log")
        try:
            stack = UiStack(f"http://127.0.0.1:{port}", webserver)
            wait_until_ready(stack, timeout_s=240)
            # The first nightly sync (launched as from the UI) leaves what the sensor's job reads.
            nightly = stack.wait_for_run(stack.launch("nightly_sync"), timeout_s=300)
            assert nightly["status"] == "SUCCESS", (tmp_path / "daemon.log").read_text()[-3000:]
            ledger = EventLedger(StateStoreResource(url=sqlite_url).store)
            ledger.enqueue([], cursor=events.newest(), snapshot=None)  # as a run that sent everything leaves it
            events.subscribe()  # something new for the sensor

            subprocess.run([_bin("dagster"), *SENSOR_START.split()[1:]], cwd=REPO, env=env, check=True)

            run = stack.wait_for_first_run({"tags": [{"key": "dagster/sensor_name", "value": SENSOR}]}, 300)
            assert run["jobName"] == "lifecycle_events"
            finished = stack.wait_for_run(run["runId"], timeout_s=300)
            assert finished["status"] == "SUCCESS", (tmp_path / "daemon.log").read_text()[-3000:]
        finally:
            stop_process_group(daemon)
            stop_process_group(webserver)

    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:  # the run was recorded in PostgreSQL, not in a SQLite file under DAGSTER_HOME
        status = conn.execute(sa.text("select status from runs where run_id = :id"), {"id": run["runId"]}).scalar()
    engine.dispose()
    assert status == "SUCCESS"
    assert not list(home.glob("**/*.db"))
