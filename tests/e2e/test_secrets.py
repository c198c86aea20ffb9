"""Failing runs with canary credentials: no canary in stdout, the event log, compute logs, metadata or state.

The canaries: a Stripe key the emulator refuses, an Intercom token it refuses, a database password
in the warehouse URL, and the alert webhook URL in the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._serdes import serialize_value

from tests.e2e.harness import sync_world

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
STRIPE_KEY = "sk_test_CANARYstripe4f8a2b"
INTERCOM_TOKEN = "CANARYintercom9d1e7c"
DB_PASSWORD = "CANARYdbpass3b6f0a"
WEBHOOK = "https://hooks.example.com/services/CANARYwebhook5e2d9f"
CANARIES = (STRIPE_KEY, INTERCOM_TOKEN, DB_PASSWORD, WEBHOOK, "CANARYwebhook5e2d9f")

CHILD = """
import sys
import dagster as dg
from orchestration.definitions import defs
from orchestration.environments import DEMO_FX_RATES, EmulatorAccess, emulator_resources
from resources.settings import SyncSettings

stripe_url, intercom_url, warehouse_url, bad_url = sys.argv[1:5]
for url in (warehouse_url, bad_url):
    resources = emulator_resources(
        EmulatorAccess(stripe_url, dg.EnvVar("STRIPE_API_KEY"), intercom_url, dg.EnvVar("INTERCOM_ACCESS_TOKEN")),
        warehouse_url=url,
        settings=SyncSettings(as_of="2026-11-20T12:00:00+00:00", fx_rates=DEMO_FX_RATES),
    )
    result = defs.resolve_job_def("nightly_sync").execute_in_process(
        resources=resources, instance=dg.DagsterInstance.get(), raise_on_error=False
    )
    print("run", result.run_id, "success", result.success)
"""


def _with_password(url: str) -> str:
    return sa.make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)


def test_failing_runs_never_reveal_a_credential(postgres_url, sqlite_url, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster-instance.yaml").read_text())
    warehouse_url = _with_password(postgres_url)  # the test server trusts any password
    malformed_url = f"postgresql+psycopg://postgres:{DB_PASSWORD}@127.0.0.1:notaport/x"
    with sync_world(warehouse_url, users=40) as env:
        env.stripe.app.api_keys = {"sk_test_the_real_one"}  # the canary key is refused: 401
        env.intercom_app.access_tokens = {"the-real-token"}  # and so is the canary token
        child = subprocess.run(
            [sys.executable, "-c", CHILD, env.stripe.url, env.intercom.url, warehouse_url, malformed_url],
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "DAGSTER_HOME": str(home),
                "STRIPE_API_KEY": STRIPE_KEY,
                "INTERCOM_ACCESS_TOKEN": INTERCOM_TOKEN,
                "REVSYNC_ALERT_WEBHOOK_URL": WEBHOOK,
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
    output = child.stdout + child.stderr
    assert child.stdout.count("success False") == 2, output[-3000:]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.FAILURE for r in runs)
        events = "\n".join(serialize_value(e) for r in runs for e in instance.all_logs(r.run_id))
    # The failures are explained, with the credentials masked.
    assert "Invalid API Key provided: sk_test_" in events
    assert "_URL=<hidden: may hold a password>: not a SQLAlchemy database URL" in events  # state or warehouse
    files = "\n".join(
        p.read_text(errors="replace")
        for p in home.rglob("*")
        if p.is_file() and p.suffix in ("", ".out", ".err", ".txt", ".log", ".json")
    )
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        state = "\n".join(
            str(row)
            for t in tables
            if t.startswith("revsync_")
            for row in conn.execute(sa.text(f'select * from "{t}"'))
        )
    engine.dispose()
    assert "revsync_" in " ".join(tables)

    for where, text in {
        "stdout/stderr": output,
        "event log and metadata": events,
        "compute logs": files,
        "state": state,
    }.items():
        leaked = [c for c in CANARIES if c in text]
        assert leaked == [], f"{where} reveals {leaked}"
