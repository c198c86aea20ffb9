"""Crash safety: SIGKILL in the middle of a push (in its first chunk, or in a later one), re-run, and
Intercom ends exactly as it should."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assets.attributes import catalog
from assets.push.plan import CUSTOM, contact_fields, desired_values
from tests.assets.push.test_service import make_store, push
from tests.fixtures.synthetic import synthetic_frames

USERS, PER_ACCOUNT = 60, 4
ROOT = Path(__file__).resolve().parents[3]

PUSH_SCRIPT = f"""
import asyncio, logging, sys
from assets.attributes.catalog import catalog
from assets.push.runner import PushOptions
from assets.push.service import sync_intercom
from tests.fixtures.synthetic import synthetic_frames
from resources.intercom import IntercomResource
from resources.state import StateStore

url, token, state_url, chunk_size = sys.argv[1:5]
contacts, companies = synthetic_frames({USERS}, users_per_account={PER_ACCOUNT})
store = StateStore(state_url)
store.create_all()

async def main():
    async with IntercomResource(access_token=token, base_url=url, max_concurrency=4).open_client() as client:
        options = PushOptions(state_flush_every=5, chunk_size=int(chunk_size))
        await sync_intercom(client, store, contacts, companies, catalog(), options, "crash", logging.getLogger("crash"))

asyncio.run(main())
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("chunk_size", "kill_at"),
    [(10_000, USERS // 3), (15, 2 * USERS // 3)],  # one chunk; the third of four chunks of 15
    ids=["one-chunk", "later-chunk"],
)
def test_sigkill_mid_push_then_rerun_leaves_no_duplicate_and_exact_state(
    intercom_emulator, intercom_token, tmp_path, chunk_size, kill_at
):
    state_url = f"sqlite:///{tmp_path}/state.db"
    intercom_emulator.app.latency_ms = (15.0, 30.0)  # slow enough for the kill to land mid-push
    child = subprocess.Popen(
        [sys.executable, "-c", PUSH_SCRIPT, intercom_emulator.url, intercom_token, state_url, str(chunk_size)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while intercom_emulator.app.stats()["contacts"] < kill_at:
        assert child.poll() is None and time.monotonic() < deadline, "the push ended before it could be killed"
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    intercom_emulator.app.wait_idle()  # calls the child sent before dying still complete on the server
    created_before_kill = intercom_emulator.app.stats()["contacts"]
    assert kill_at <= created_before_kill < USERS  # killed mid-push

    intercom_emulator.app.latency_ms = (0.0, 0.0)
    contacts, companies = synthetic_frames(USERS, users_per_account=PER_ACCOUNT)
    result, _ = push(
        intercom_emulator, intercom_token, make_store(state_url), contacts, companies, chunk_size=chunk_size
    )
    assert result.contacts.failed == 0 and result.contacts.created == USERS - created_before_kill

    app = intercom_emulator.app
    assert app.stats()["contacts"] == USERS and app.stats()["companies"] == USERS // PER_ACCOUNT  # no duplicates
    in_intercom = app.contacts_by_external_id()
    company_ids = {c["company_id"]: c["id"] for c in app.companies_by_company_id().values()}
    desired = desired_values(contacts, "external_id", contact_fields(catalog()))
    for external_id, values in desired.iterrows():
        contact = in_intercom[external_id]
        expected = {k.removeprefix(CUSTOM): v for k, v in values.items() if k.startswith(CUSTOM) and v is not None}
        assert contact["custom_attributes"] == expected
        assert (contact["email"], contact["name"]) == (values["email"], values["name"])
        account = contacts.set_index("external_id").loc[external_id, "company_id"]
        assert [c["id"] for c in contact["companies"]["data"]] == [company_ids[account]]

    again, calls = push(intercom_emulator, intercom_token, make_store(state_url), contacts, companies)
    assert calls == 2 and again.contacts.planned == again.companies.planned == 0
