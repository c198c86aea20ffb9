"""State persistence: snapshot round trip in-process, and the state file across two real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx

from emulators.intercom import IntercomEmulator, build_from_args
from tests.fixtures.intercom_emulator import intercom_headers

REPO = Path(__file__).resolve().parents[3]


def test_snapshot_round_trip_keeps_everything(intercom_http, intercom_emulator) -> None:
    intercom_http.post("/data_attributes", json={"name": "seats", "model": "contact", "data_type": "integer"})
    contact = intercom_http.post("/contacts", json={"external_id": "u1", "custom_attributes": {"seats": 3}}).json()
    company = intercom_http.post("/companies", json={"company_id": "a1"}).json()
    intercom_http.post(f"/contacts/{contact['id']}/companies", json={"id": company["id"]})
    intercom_http.post("/events", json={"event_name": "x", "created_at": 1, "user_id": "u1"})
    copy = IntercomEmulator()
    copy.restore_state(intercom_emulator.app.state_snapshot())
    assert copy.state_snapshot() == intercom_emulator.app.state_snapshot()
    assert copy.contacts_by_external_id()["u1"]["companies"]["total_count"] == 1
    assert copy.events_for("u1")[0]["event_name"] == "x"
    assert copy.ids.next() != contact["id"]  # ids continue, never reissued


def _serve(state_file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "emulators", "intercom", "--port", "0", "--state-file", str(state_file)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_state_file_survives_two_separate_processes(tmp_path, intercom_token) -> None:
    state_file = tmp_path / "intercom.json"
    headers = intercom_headers(intercom_token)
    first = _serve(state_file)
    url = first.stdout.readline().split()[-1]  # "intercom emulator listening on http://..."
    created = httpx.post(f"{url}/contacts", json={"external_id": "u1"}, headers=headers).json()
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=10) == 0
    second = _serve(state_file)
    try:
        url = second.stdout.readline().split()[-1]
        conflict = httpx.post(f"{url}/contacts", json={"external_id": "u1"}, headers=headers)
        assert conflict.status_code == 409
        assert created["id"] in conflict.json()["errors"][0]["message"]
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)


def test_build_from_args_options() -> None:
    runner = build_from_args(["--port", "0", "--latency-ms", "50,150", "--rate-limit-per-minute", "0"])
    runner.server.start()
    try:
        assert runner.app.latency_ms == (50.0, 150.0)
        assert not runner.app.rate_window.enabled
        assert runner.state_file is None
    finally:
        runner.server.stop()
