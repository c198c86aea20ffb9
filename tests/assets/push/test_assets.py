"""The push assets materialised by Dagster against the Intercom emulator, reached in process."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from assets.plays.assets import membership_history, segment_membership
from assets.plays.attributes import sync_catalog
from assets.plays.load import DEFAULT_PLAYS_FILE, load_plays
from assets.push.assets import intercom_companies, intercom_contacts, intercom_data_attributes, intercom_push_plan
from emulators.http import FaultRule
from resources.settings import SyncSettings
from resources.state import StateStore, StateStoreResource
from tests.fixtures.intercom_emulator import inprocess_intercom
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


def materialize(app, token, state_url, frames, assets=None, **config) -> dg.ExecuteInProcessResult:
    assets = assets or [intercom_data_attributes, intercom_companies, intercom_contacts]
    run_config = {"ops": {asset.op.name: {"config": config} for asset in assets}}
    # Dagster rebuilds a ConfigurableResource from its config, which would drop the transport.
    intercom = dg.ResourceDefinition.hardcoded_resource(inprocess_intercom(app, token, backoff_base_s=0.01))
    return dg.materialize(
        [*upstream(*frames), segment_membership, membership_history, *assets],
        resources={
            "intercom": intercom,
            "state": StateStoreResource(url=state_url),
            "settings": SyncSettings(),
        },
        run_config=run_config,
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.path == [asset]]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def test_dry_run_shows_the_plan_and_sends_nothing(intercom_app, intercom_token, tmp_path):
    frames = synthetic_frames(10, users_per_account=5)
    intercom_app.exchanges = []
    state_url = f"sqlite:///{tmp_path}/s.db"
    result = materialize(intercom_app, intercom_token, state_url, frames, assets=[intercom_push_plan])
    assert result.success
    assert all(x["request"].method == "GET" for x in intercom_app.exchanges)
    assert not [e for e in result.get_asset_materialization_events() if e.asset_key.path[0] in PUSH_ASSETS]
    plan = metadata(result, "intercom_push_plan")
    assert (plan["contacts_creates"], plan["companies_creates"]) == (10, 2)
    assert len(plan["attributes_to_create"]) == len(CATALOG)
    rows = plan["contacts_plan"].records
    assert len(rows) == 10
    first_email = frames[0].loc[0, "email"]
    assert rows[0].data["changes"].startswith(f"email: ∅ → {first_email}; ")  # attribute: old → new
    assert intercom_app.stats()["custom_attributes"] == 0


def test_the_plan_shows_old_and_new_values_of_a_change(intercom_app, intercom_token, tmp_path):
    state_url = f"sqlite:///{tmp_path}/s.db"
    contacts, companies = synthetic_frames(10, users_per_account=5)
    assert materialize(intercom_app, intercom_token, state_url, (contacts, companies)).success
    changed = contacts.assign(mrr=contacts["mrr"] + 1)
    result = materialize(intercom_app, intercom_token, state_url, (changed, companies), assets=[intercom_push_plan])
    plan = metadata(result, "intercom_push_plan")
    assert (plan["contacts_updates"], plan["contacts_unchanged"]) == (10, 0)
    first = plan["contacts_plan"].records[0].data
    old, new = contacts.loc[0, "mrr"], changed.loc[0, "mrr"]
    assert first["key"] == contacts.loc[0, "external_id"]
    assert first["changes"] == f"mrr: {old} → {new}"


def test_push_reports_summary_counts_then_fails_above_the_error_rate(intercom_app, intercom_token, tmp_path):
    state_url = f"sqlite:///{tmp_path}/s.db"
    contacts, companies = synthetic_frames(10, users_per_account=5)
    result = materialize(intercom_app, intercom_token, state_url, (contacts, companies))
    assert result.success
    pushed = metadata(result, "intercom_contacts")
    columns = [s.name for s in CATALOG if s.model == "contact"]
    joined = result.output_for_node("segment_membership").join(contacts, "contact")
    assert (pushed["created"], pushed["updated"]) == (10, 0)
    assert pushed["attributes_written"] == int(joined[columns].notna().sum().sum())  # empty values are not sent
    assert 0 < pushed["cpu_s"] <= pushed["duration_s"] * 2  # the client's CPU, for the benches (2 cores at most)
    assert metadata(result, "intercom_companies")["created"] == 2

    changed = contacts.assign(mrr=contacts["mrr"] + 1)
    intercom_app.add_faults(FaultRule(kind="status", status=400, times=1, method="PUT"))
    result = materialize(intercom_app, intercom_token, state_url, (changed, companies))
    assert not result.success  # 1 of 10 failed: 10 % > 5 %
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "1 of 10 records failed" in failure.event_specific_data.error.message
    errors = StateStore(state_url).errors_for_run(result.run_id)
    assert len(errors) == 1 and errors[0]["status"] == 400 and errors[0]["request_id"]

    result = materialize(intercom_app, intercom_token, state_url, (changed, companies))
    assert result.success  # the next run retries exactly the record that failed
    pushed = metadata(result, "intercom_contacts")
    assert (pushed["updated"], pushed["unchanged"], pushed["failed"]) == (1, 9, 0)
