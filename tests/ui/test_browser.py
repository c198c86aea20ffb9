"""The Dagster UI in a real browser: `make ui`'s stack after `make demo`, driven by headless Chromium.

Opens the asset graph, launches `nightly_sync` from its job page (no "may fail" warning: the demo
recorded the history it reads), launches a 7-day backfill of the MRR history from the revenue
group, waits for both to succeed and opens an asset's Checks tab. Screenshots of each step go to
build/ui-screenshots/. Runs in `make ui-test` (CI runs it after `make test`).

The browser is the system's Chromium (`apt-get install chromium`); Playwright never downloads one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestration.definitions import defs
from tests.fixtures.ui_stack import REPO, UiStack, dagster_home, run_demo, ui_stack

pytestmark = [pytest.mark.ui, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "build" / "ui-screenshots"
# Root in a container: no sandbox; and nothing that phones home or needs a GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 120_000  # the UI's first render on a loaded 2-core machine
RUN_TIMEOUT_S = 600
BACKFILLS_QUERY = """
{ partitionBackfillsOrError(limit: 5) { ... on PartitionBackfills { results { id status numPartitions } } } }
"""


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiStack]:
    _require_chromium()
    root = tmp_path_factory.mktemp("ui")
    home, data = dagster_home(root / "dagster_home"), root / "data"
    with (root / "demo.log").open("w") as log:
        run_demo(data, home, users=150, log=log)
    with (root / "ui.log").open("w") as log, ui_stack(data, home, log) as running:
        yield running


@pytest.fixture(scope="module")
def page(stack: UiStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        # A first visit may open Dagster's "Join the community" dialog over whatever is on screen.
        page.add_locator_handler(
            page.get_by_text("Join the Dagster community"), lambda _: page.get_by_role("button", name="Skip").click()
        )
        yield page
        context.close()


def _shot(page, name: str) -> None:
    page.wait_for_timeout(1500)  # let the graph finish laying out
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def _newest_run(stack: UiStack, job: str, after: set[str]) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = stack.graphql(
            "query R($f: RunsFilter) { runsOrError(filter: $f, limit: 5) { ... on Runs { results { runId } } } }",
            {"f": {"pipelineName": job}},
        )["runsOrError"]["results"]
        new = [run["runId"] for run in runs if run["runId"] not in after]
        if new:
            return str(new[0])
        time.sleep(1)
    raise TimeoutError(f"no new {job} run appeared after the UI's launch")


def _run_ids(stack: UiStack, job: str) -> set[str]:
    runs = stack.graphql(
        "query R($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs { results { runId } } } }",
        {"f": {"pipelineName": job}},
    )["runsOrError"]["results"]
    return {run["runId"] for run in runs}


def test_asset_graph_shows_every_group(stack: UiStack, page) -> None:
    page.goto(f"{stack.url}/asset-groups")
    for group in ("ingest", "revenue", "attributes", "push", "lifecycle"):
        page.get_by_text(group, exact=True).first.wait_for()
    _shot(page, "01-asset-graph")


def test_nightly_sync_launches_from_its_job_page_without_a_warning(stack: UiStack, page) -> None:
    before = _run_ids(stack, "nightly_sync")
    page.goto(f"{stack.url}/locations/revsync/jobs/nightly_sync")
    launch = page.get_by_role("button", name="Materialize all")
    launch.wait_for()
    page.get_by_text("ingest", exact=True).first.wait_for()  # the job's graph: groups, off-screen ones undrawn
    _shot(page, "02-nightly-sync-job")
    launch.click()
    run_id = _newest_run(stack, "nightly_sync", before)
    # The UI asks "Are you sure?" before launching when an upstream asset was never materialized.
    assert page.get_by_text("may fail because the upstream assets").count() == 0
    assert stack.wait_for_run(run_id, RUN_TIMEOUT_S)["status"] == "SUCCESS"
    page.goto(f"{stack.url}/runs/{run_id}")
    page.get_by_text("Success", exact=True).first.wait_for()
    _shot(page, "03-nightly-sync-run")


def test_seven_day_history_backfill_from_the_revenue_group(stack: UiStack, page) -> None:
    last = datetime.now(UTC).date() - timedelta(days=1)  # the newest complete history day
    first = last - timedelta(days=6)
    page.goto(f"{stack.url}/locations/revsync/asset-groups/revenue")
    page.get_by_role("button", name="Materialize all").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Launch runs to materialize 2 assets").wait_for()  # customer_mrr_daily and _movements
    partitions = dialog.get_by_role("textbox").first
    partitions.fill(f"[{first.isoformat()}...{last.isoformat()}]")
    partitions.press("Enter")
    dialog.get_by_text("7 partitions").first.wait_for()
    _shot(page, "04-backfill-dialog")
    dialog.get_by_role("button", name="Launch backfill").click()

    deadline = time.monotonic() + RUN_TIMEOUT_S
    backfill: dict = {}
    while time.monotonic() < deadline:
        backfills = stack.graphql(BACKFILLS_QUERY)["partitionBackfillsOrError"]["results"]
        backfill = backfills[0] if backfills else {}
        if backfill.get("status") in {"COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED", "CANCELED"}:
            break
        time.sleep(2)
    assert backfill.get("status") in {"COMPLETED", "COMPLETED_SUCCESS"}, backfill
    assert backfill["numPartitions"] == 7
    page.goto(f"{stack.url}/runs/b/{backfill['id']}")
    page.get_by_text("customer_mrr_movements").first.wait_for()
    _shot(page, "05-backfill-done")


def test_an_assets_checks_tab_lists_its_checks(stack: UiStack, page) -> None:
    checks_by_asset: dict[str, list[str]] = {}
    for key in defs.resolve_asset_graph().asset_check_keys:
        checks_by_asset.setdefault(key.asset_key.to_user_string(), []).append(key.name)
    asset = min(checks_by_asset) if checks_by_asset else "intercom_contacts"
    page.goto(f"{stack.url}/assets/{asset}?view=checks")
    tab = page.get_by_role("tab", name="Checks")
    tab.wait_for()
    assert tab.get_attribute("aria-selected") == "true"
    if checks_by_asset:
        for check in checks_by_asset[asset]:
            page.get_by_text(check, exact=True).first.wait_for()
    else:
        page.get_by_text("No checks defined for this asset").wait_for()
    _shot(page, "06-checks-tab")
