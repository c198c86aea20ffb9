"""The README's production deployment, for real: `dagster-webserver` and `dagster-daemon` on a
PostgreSQL-backed instance, and a sensor tick that launches a run which succeeds. The same daemon
evaluates the alert sensors: a run failed by a blocking check and a run that succeeded with an
acknowledged one each deliver exactly one webhook message to a loopback receiver, with no secret.

The instance's `dagster.yaml` is the block in the README's "Deploying with Postgres storage"
section, read from the README itself, and the services are started with the commands it lists.
Stripe and Intercom are the emulators; the warehouse is the demo world.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import stripe

from assets.lifecycle.from_events import STRIPE_EVENT_TYPES
from assets.lifecycle.ledger import Cursor, EventLedger
from emulators.stripe import StripeEmulator
from orchestration.ui import free_port
from resources.state import StateStoreResource
from tests.e2e.harness import INTERCOM_TOKEN, STRIPE_KEY, sync_world
from tests.fixtures.ui_stack import LOCATION, REPO, UiStack, stop_process_group, wait_until_ready
from tests.fixtures.webhook import CANARY, Receiver, fields

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SENSOR = "stripe_lifecycle_events_sensor"
WEBSERVER = "dagster-webserver -w workspace.yaml"
DAEMON = "dagster-daemon run -w workspace.yaml"
SENSOR_START = f"dagster sensor start {SENSOR} -w workspace.yaml"
ALERT_SENSORS = ("run_failure_alert", "failed_checks_alert")
SENSOR_TICKS_QUERY = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) { ... on Sensor { sensorState { ticks(limit: 1) { status } } } }
}
"""
# The world was built at the harness's fixed date, so its newest usage event is old: a run with a
# one-hour freshness limit fails the blocking `usage_events_fresh` check. (Run config replaces the
# resource's whole config, so the world's unmatched-customer threshold is repeated.)
STALE_USAGE = {"checks": {"config": {"usage_max_age_hours": 1, "max_unmatched_customer_percent": 20}}}
ACKNOWLEDGED = {**STALE_USAGE, "acknowledged_checks": {"config": {"names": ["usage_events_fresh"]}}}


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


def _wait_for_first_ticks(stack: UiStack, sensors: tuple[str, ...], timeout_s: float) -> None:
    """Until each run status sensor has ticked once: its first tick starts its cursor, and only runs
    that end after that are reported."""
    deadline = time.monotonic() + timeout_s
    waiting = set(sensors)
    while waiting and time.monotonic() < deadline:
        for sensor in sorted(waiting):
            selector = {"repositoryName": "__repository__", "repositoryLocationName": LOCATION, "sensorName": sensor}
            state = stack.graphql(SENSOR_TICKS_QUERY, {"selector": selector})["sensorOrError"]["sensorState"]
            if state["ticks"]:
                waiting.discard(sensor)
        time.sleep(1)
    assert not waiting, f"no tick of {sorted(waiting)} after {timeout_s:.0f} s"


def _messages_for(receiver: Receiver, run_id: str, timeout_s: float) -> list[str]:
    """The messages naming `run_id`, once there is one (the sensor daemon ticks every 30 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [body for body in receiver.bodies if fields(body).get("run") == run_id]
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"no alert for run {run_id} after {timeout_s:.0f} s: {receiver.bodies}")


def _launch_and_wait(stack: UiStack, run_config: dict[str, Any], log: Path) -> dict[str, Any]:
    # No automatic retry (the README's instance enables them): one run, one outcome, one alert.
    run_id = stack.launch("nightly_sync", {"resources": run_config}, tags={"dagster/max_retries": "0"})
    return {"runId": run_id, **stack.wait_for_run(run_id, timeout_s=300), "log": log.read_text()[-3000:]}


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


def test_daemon_launches_a_sensor_run_and_delivers_alerts_on_postgres_storage(postgres_url, tmp_path):
    home = tmp_path / "dagster_home"
    storage_env = _production_home(home, postgres_url)
    receiver = Receiver()
    # Every secret the alert sensors know of carries the canary: the Stripe key, the webhook URL
    # and the warehouse's (and state store's) URL.
    warehouse_url = f"sqlite:///{tmp_path / f'warehouse-{CANARY}.db'}"
    with sync_world(warehouse_url) as world:
        assert isinstance(world.stripe.app, StripeEmulator)
        events = StripeEvents(world.stripe.url, world.stripe.app)
        events.subscribe()
        port = free_port()
        env = (
            os.environ
            | storage_env
            | {
                "REVSYNC_ENV": "demo",
                "STRIPE_API_KEY": f"sk_test_{CANARY}",
                "STRIPE_BASE_URL": world.stripe.url,
                "INTERCOM_ACCESS_TOKEN": INTERCOM_TOKEN,
                "INTERCOM_BASE_URL": world.intercom.url,
                "REVSYNC_WAREHOUSE_URL": warehouse_url,
                "REVSYNC_ALERT_WEBHOOK_URL": receiver.url,
                "REVSYNC_UI_BASE_URL": f"http://127.0.0.1:{port}",
                # The world was built at the harness's fixed date and its planted unmatched
                # customers are a large share of 150 users: thresholds for this world, as a
                # deployment sets them.
                "REVSYNC_CHECK_USAGE_MAX_AGE_HOURS": str(24 * 365 * 10),
                "REVSYNC_CHECK_MAX_UNMATCHED_CUSTOMER_PERCENT": "20",
            }
        )
        webserver = _start(WEBSERVER, env, tmp_path / "webserver.log", ("-h", "127.0.0.1", "-p", str(port)))
        daemon_log = tmp_path / "daemon.log"
        daemon = _start(DAEMON, env, daemon_log)
        try:
            stack = UiStack(f"http://127.0.0.1:{port}", webserver)
            wait_until_ready(stack, timeout_s=240)
            _wait_for_first_ticks(stack, ALERT_SENSORS, timeout_s=180)

            # A stale warehouse: the blocking freshness check fails the run (launched as from the UI).
            failed = _launch_and_wait(stack, STALE_USAGE, daemon_log)
            assert failed["status"] == "FAILURE", failed["log"]
            # The same failure, acknowledged for one run: the run succeeds with a failed check. It is
            # also the first nightly sync, which leaves what the sensor's job reads.
            nightly = _launch_and_wait(stack, ACKNOWLEDGED, daemon_log)
            assert nightly["status"] == "SUCCESS", nightly["log"]
            failure_alerts = _messages_for(receiver, failed["runId"], timeout_s=180)
            check_alerts = _messages_for(receiver, nightly["runId"], timeout_s=180)

            ledger = EventLedger(StateStoreResource(url=warehouse_url).store)
            ledger.enqueue([], cursor=events.newest(), snapshot=None)  # as a run that sent everything leaves it
            events.subscribe()  # something new for the sensor

            subprocess.run([_bin("dagster"), *SENSOR_START.split()[1:]], cwd=REPO, env=env, check=True)

            run = stack.wait_for_first_run({"tags": [{"key": "dagster/sensor_name", "value": SENSOR}]}, 300)
            assert run["jobName"] == "lifecycle_events"
            finished = stack.wait_for_run(run["runId"], timeout_s=300)
            assert finished["status"] == "SUCCESS", daemon_log.read_text()[-3000:]
        finally:
            stop_process_group(daemon)
            stop_process_group(webserver)
            receiver.stop()

    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:  # the run was recorded in PostgreSQL, not in a SQLite file under DAGSTER_HOME
        status = conn.execute(sa.text("select status from runs where run_id = :id"), {"id": run["runId"]}).scalar()
    engine.dispose()
    assert status == "SUCCESS"
    assert not list(home.glob("**/*.db"))

    # One message per run, none for the lifecycle run (no check failed), none with a secret.
    assert len(failure_alerts) == len(check_alerts) == 1 and len(receiver.bodies) == 2
    assert CANARY not in "".join(receiver.bodies)
    check = "usage_aggregates.usage_events_fresh"
    failure = fields(failure_alerts[0])
    assert (failure["job"], failure["failed checks"], failure["failed steps"]) == ("nightly_sync", "1", "1")
    assert f"check {check} (ERROR)" in failure_alerts[0]
    assert f"http://127.0.0.1:{port}/runs/{failed['runId']}" in failure_alerts[0]
    warned = fields(check_alerts[0])
    assert (warned["job"], warned["failed checks"]) == ("nightly_sync", "1")
    assert f"check {check} (WARN): acknowledged for this run" in check_alerts[0]
    assert f"http://127.0.0.1:{port}/runs/{nightly['runId']}" in check_alerts[0]
