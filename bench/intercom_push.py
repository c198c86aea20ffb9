"""Benchmark of the Intercom push against the emulator at Intercom's real default limit.

    .venv/bin/python bench/intercom_push.py [--users 10000] [--sdk-users 1000]

The emulator runs in its own process (10,000 calls/min in 10-second windows, 50-150 ms latency).
Phases: (a) N new contacts with companies, (b) a re-run with 1 % of contacts changed, (c) a re-run
with nothing changed, (d) the first `--sdk-users` contacts created the obvious sequential way with
the official python-intercom SDK (company upsert, contact create, attach). The last line is JSON.

rate_limit_utilisation: calls Intercom accepted in (a) / what the limit allows in (a)'s wall time.
requests_per_change: calls in (b) per changed contact, not counting the two `GET /data_attributes`
reads every run starts with; noop_requests: calls in (c), same two reads aside.
push_cpu_ms_per_call: this process's CPU time during (a)'s company and contact pushes per call.
requests_per_new_contact: every call of (a) but the two reads (attribute creates, company upserts,
searches, creates, attaches) per new contact.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assets.attributes import catalog  # noqa: E402
from assets.push import PushOptions, SyncResult, ensure_attributes, sync_intercom  # noqa: E402
from emulators.intercom import DEFAULT_TOKEN  # noqa: E402
from emulators.runner import wait_until_healthy  # noqa: E402
from resources.intercom import IntercomResource  # noqa: E402
from resources.state import StateStore  # noqa: E402
from tests.fixtures.synthetic import synthetic_frames  # noqa: E402

RATE_LIMIT_PER_MINUTE = 10_000
START_READS = 2  # GET /data_attributes for contacts and companies: the schema check of every run
log = logging.getLogger("bench.intercom_push")


def change_some(contacts: pd.DataFrame, fraction: float, seed: int = 1) -> tuple[pd.DataFrame, int]:
    """A copy with `fraction` of the contacts' MRR and usage changed."""
    rng = np.random.default_rng(seed)
    changed = contacts.copy()
    rows = rng.choice(len(changed), int(len(changed) * fraction), replace=False)
    changed.loc[rows, "mrr"] = changed.loc[rows, "mrr"] + 1
    changed.loc[rows, "reports_created"] = changed.loc[rows, "reports_created"] + 1
    return changed, len(rows)


class Emulator:
    """The Intercom emulator in a child process (so its threads don't share our GIL)."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        args = [
            "--port",
            str(self.port),
            "--latency-ms",
            "50,150",
            "--rate-limit-per-minute",
            str(RATE_LIMIT_PER_MINUTE),
        ]
        self.process = subprocess.Popen([sys.executable, "-m", "emulators", "intercom", *args], cwd=ROOT)
        wait_until_healthy(self.url)

    def control(self, method: str, path: str) -> Any:
        return httpx.request(method, f"{self.url}/_emulator/{path}", timeout=30).json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def run_push(
    resource: IntercomResource, store: StateStore, contacts: pd.DataFrame, companies: pd.DataFrame, run_id: str
) -> tuple[SyncResult, dict[str, Any]]:
    async with resource.open_client() as client:
        started = time.monotonic()
        result = await sync_intercom(client, store, contacts, companies, catalog(), PushOptions(), run_id, log)
        elapsed = time.monotonic() - started
        stats = client.transport.stats
        push_calls = result.companies.requests + result.contacts.requests
        push_cpu_s = result.companies.cpu_s + result.contacts.cpu_s
        return result, {
            "seconds": round(elapsed, 1),
            "push_cpu_ms_per_call": round(1000 * push_cpu_s / max(push_calls, 1), 3),
            "requests": stats.requests,
            "status_429": stats.by_status[429],
            "by_route": dict(stats.by_route),
        }


def sdk_creates(url: str, contacts: pd.DataFrame, companies: pd.DataFrame) -> dict[str, Any]:
    """The obvious way: one call after another with the official SDK, no limiter, no concurrency."""
    from intercom import Intercom
    from intercom.types.create_contact_request_with_external_id import CreateContactRequestWithExternalId
    from intercom.types.create_or_update_company_request import CreateOrUpdateCompanyRequest

    # The SDK sends neither Intercom-Version nor Accept: application/json (406 without it).
    headers = {"Intercom-Version": "2.16", "Accept": "application/json"}
    client = Intercom(token=DEFAULT_TOKEN, base_url=url, headers=headers)
    company_columns = [s.name for s in catalog() if s.model == "company"]
    contact_columns = [s.name for s in catalog() if s.model == "contact"]
    company_ids: dict[str, str] = {}
    started = time.monotonic()
    for company in companies.to_dict("records"):
        created = client.companies.create_or_update(
            request=CreateOrUpdateCompanyRequest(
                company_id=company["company_id"],
                name=company["name"],
                plan=company["plan"],
                monthly_spend=int(company["monthly_spend"]),
                remote_created_at=int(company["remote_created_at"]),
                custom_attributes={c: _plain(company[c]) for c in company_columns},
            )
        )
        company_ids[company["company_id"]] = created.id
    for contact in contacts.to_dict("records"):
        created = client.contacts.create(
            request=CreateContactRequestWithExternalId(
                external_id=contact["external_id"],
                email=contact["email"],
                name=contact["name"],
                signed_up_at=int(contact["signed_up_at"]),
                custom_attributes={c: _plain(contact[c]) for c in contact_columns},
            )
        )
        client.companies.attach_contact(contact_id=created.id, company_id=company_ids[contact["company_id"]])
    return {"seconds": round(time.monotonic() - started, 1), "contacts": len(contacts), "companies": len(companies)}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--sdk-users", type=int, default=1_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    contacts, companies = synthetic_frames(args.users)
    emulator = Emulator()
    resource = IntercomResource(access_token=DEFAULT_TOKEN, base_url=emulator.url)
    report: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = StateStore(f"sqlite:///{tmp}/state.db")
            store.create_all()
            result_a, report["a"] = asyncio.run(run_push(resource, store, contacts, companies, "bench-a"))
            report["a"]["counts"] = result_a.counts()
            accepted_a = report["a"]["requests"] - report["a"]["status_429"]
            allowed_a = RATE_LIMIT_PER_MINUTE / 60 * report["a"]["seconds"]

            changed, n_changed = change_some(contacts, 0.01)
            _, report["b"] = asyncio.run(run_push(resource, store, changed, companies, "bench-b"))
            report["b"]["changed_contacts"] = n_changed
            _, report["c"] = asyncio.run(run_push(resource, store, changed, companies, "bench-c"))

        emulator.control("POST", "reset")
        first = contacts.head(args.sdk_users)
        first_companies = companies[companies["company_id"].isin(first["company_id"])]

        async def attributes_only() -> None:
            async with resource.open_client() as client:
                await ensure_attributes(client, catalog(), PushOptions(), log)

        asyncio.run(attributes_only())
        report["d"] = sdk_creates(emulator.url, first, first_companies)
        report["emulator"] = emulator.control("GET", "stats")
    finally:
        emulator.stop()

    ours_per_contact = report["a"]["seconds"] / args.users
    sdk_per_contact = report["d"]["seconds"] / args.sdk_users
    total = sum(report[p]["requests"] for p in "abc")
    print(json.dumps(report, indent=2, default=str))
    summary = {
        "rate_limit_utilisation": round(accepted_a / allowed_a, 3),
        "requests_per_change": round((report["b"]["requests"] - START_READS) / report["b"]["changed_contacts"], 3),
        "noop_requests": report["c"]["requests"] - START_READS,
        "pct_429": round(100 * sum(report[p]["status_429"] for p in "abc") / total, 3),
        "speedup_vs_sdk": round(sdk_per_contact / ours_per_contact, 1),
        "push_cpu_ms_per_call": report["a"]["push_cpu_ms_per_call"],
        "requests_per_new_contact": round((report["a"]["requests"] - START_READS) / args.users, 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
