"""The reverse_etl assets materialised by Dagster against the emulator."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from assets.plays.assets import membership_history, segment_membership
from assets.plays.attributes import sync_catalog
from assets.plays.load import DEFAULT_PLAYS_FILE, load_plays
from assets.push.assets import intercom_companies, intercom_contacts, intercom_data_attributes
from emulators.http import FaultRule
from resources.intercom.resource import IntercomResource
from resources.settings import SyncSettings
from resources.state.store import StateStore, StateStoreResource
from tests.fixtures.synthetic import synthetic_frames

PUSH_ASSETS = ["intercom_data_attributes", "intercom_companies", "intercom_contacts"]
CATALOG = sync_catalog(None, load_plays(DEFAULT_PLAYS_FILE))  # the shipped plays.yaml's attributes too


def upstream(contacts: pd.DataFrame, companies: pd.DataFrame) -> list[dg.AssetsDefinition]:
    """Stand-ins for the pipeline's attribute assets, under the same keys."""

    @dg.asset(name="contact_attributes")
    def contact_attributes() -> pd.DataFrame:
        return contacts

    @dg.asset(name="company_attributes")
    def company_attributes() -> pd.DataFrame:
        return companies

    return [contact_attributes, company_attributes]


PUSH_ASSETS_DEFS = [intercom_data_attributes, intercom_companies, intercom_contacts]


def materialize(server, token, state_url, frames, **config) -> dg.ExecuteInProcessResult:
    run_config = {"ops": {name: {"config": config} for name in PUSH_ASSETS}}
    return dg.materialize(
        [*upstream(*frames), segment_membership, membership_history, *PUSH_ASSETS_DEFS],
        resources={
            "intercom": IntercomResource(access_token=token, base_url=server.url, backoff_base_s=0.01),
            "state": StateStoreResource(url=state_url),
            "settings": SyncSettings(),
        },
        run_config=run_config,
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.path == [asset]]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def test_dry_run_shows_the_plan_and_sends_nothing(intercom_emulator, intercom_token, tmp_path):
    frames = synthetic_frames(10, users_per_account=5)
    intercom_emulator.app.exchanges = []
    result = materialize(intercom_emulator, intercom_token, f"sqlite:///{tmp_path}/s.db", frames, dry_run=True)
    assert result.success
    assert all(x["request"].method == "GET" for x in intercom_emulator.app.exchanges)
    contacts = metadata(result, "intercom_contacts")
    assert (contacts["plan_creates"], contacts["plan_attaches"], contacts["contacts_created"]) == (10, 10, 0)
    assert contacts["dry_run"] is True and "| user-000000 | create   |" in contacts["plan_sample"]
    assert len(contacts["plan"].records) == 10
    assert len(metadata(result, "intercom_data_attributes")["to_create"]) == len(CATALOG)
    assert intercom_emulator.app.stats()["custom_attributes"] == 0


def test_push_reports_summary_counts_then_fails_above_the_error_rate(intercom_emulator, intercom_token, tmp_path):
    state_url = f"sqlite:///{tmp_path}/s.db"
    contacts, companies = synthetic_frames(10, users_per_account=5)
    result = materialize(intercom_emulator, intercom_token, state_url, (contacts, companies))
    assert result.success
    pushed = metadata(result, "intercom_contacts")
    columns = [s.name for s in CATALOG if s.model == "contact"]
    joined = result.output_for_node("segment_membership").join(contacts, "contact")
    assert (pushed["contacts_created"], pushed["contacts_updated"]) == (10, 0)
    assert pushed["attributes_written"] == int(joined[columns].notna().sum().sum())  # empty values are not sent
    assert metadata(result, "intercom_companies")["companies_upserted"] == 2

    changed = contacts.assign(mrr=contacts["mrr"] + 1)
    intercom_emulator.app.add_faults(FaultRule(kind="status", status=400, times=1, method="PUT"))
    result = materialize(intercom_emulator, intercom_token, state_url, (changed, companies))
    assert not result.success  # 1 of 10 failed: 10 % > 5 %
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "1 of 10 records failed" in failure.event_specific_data.error.message
    errors = StateStore(state_url).errors_for_run(result.run_id)
    assert len(errors) == 1 and errors[0]["status"] == 400 and errors[0]["request_id"]

    result = materialize(intercom_emulator, intercom_token, state_url, (changed, companies))
    assert result.success  # the next run retries exactly the record that failed
    pushed = metadata(result, "intercom_contacts")
    assert (pushed["contacts_updated"], pushed["unchanged"], pushed["failed"]) == (1, 9, 0)
