"""Alerts end to end: real runs on an instance, the real sensors, a loopback webhook receiver.

A failed run and a run with a failed check each deliver exactly one message with the run, the
failing step or check, counts and a link; a canary planted in every secret never appears in it.
Here each sensor is called on a context built from the run; the daemon evaluating them on a
deployment is tests/orchestration/test_production_instance.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from orchestration.alerts import failed_checks_alert, run_failure_alert
from resources.alerts import AlertDeliveryFailed, AlertResource, AlertWebhook
from resources.intercom.resource import IntercomResource
from resources.stripe import StripeResource
from tests.e2e.harness import SyncWorld, sync_world
from tests.fixtures.webhook import CANARY, Receiver, fields

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(fail_first=1)  # every delivery is retried once
    yield server
    server.stop()


def _resources(env: SyncWorld, receiver: Receiver) -> dict:
    resources = env.resources()
    resources["alerts"] = AlertResource(webhook_url=receiver.url, ui_base_url="http://dagster.example:3000")
    return resources


def _evaluate(sensor: dg.RunStatusSensorDefinition, instance: dg.DagsterInstance, run_id: str, resources: dict):
    run = instance.get_run_by_id(run_id)
    assert run is not None
    status = dg.DagsterEventType.RUN_FAILURE if run.is_failure else dg.DagsterEventType.RUN_SUCCESS
    event = instance.all_logs(run_id, of_type=status)[0].dagster_event
    with dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_event=event, dagster_instance=instance, dagster_run=run, resources=resources
    ) as context:
        return sensor(context.for_run_failure() if run.is_failure else context)


def _message(receiver: Receiver) -> tuple[str, dict[str, str]]:
    assert len(receiver.bodies) == 1
    return receiver.bodies[0], fields(receiver.bodies[0])


def test_a_failed_run_sends_one_alert_without_secrets(sqlite_url, receiver):
    with sync_world(sqlite_url) as env, dg.DagsterInstance.ephemeral() as instance:
        # Every secret carries the canary; Intercom refuses the token, so the push fails.
        env.overrides["stripe"] = StripeResource(
            api_key=f"sk_test_{CANARY}", base_url=env.stripe.url, requests_per_second=1000
        )
        env.overrides["intercom"] = IntercomResource(access_token=f"token-{CANARY}", base_url=env.intercom.url)
        result = env.run(instance=instance)
        assert not result.success
        resources = _resources(env, receiver)
        assert _evaluate(run_failure_alert, instance, result.run_id, resources) is None  # sent, not skipped

    raw, fields = _message(receiver)
    assert receiver.attempts == 2  # the 503 was retried
    assert CANARY not in raw
    assert fields["run"] == result.run_id and fields["job"] == "nightly_sync"
    assert fields["failed steps"] == "1" and int(fields["assets materialized"]) > 0
    assert "step intercom_data_attributes" in raw
    assert f"http://dagster.example:3000/runs/{result.run_id}" in raw


def test_a_failed_check_sends_one_alert(sqlite_url, receiver):
    with sync_world(sqlite_url) as env, dg.DagsterInstance.ephemeral() as instance:
        env.overrides["stripe"] = StripeResource(
            api_key=f"sk_test_{CANARY}", base_url=env.stripe.url, requests_per_second=1000
        )
        assert env.run(instance=instance).success
        with sa.create_engine(sqlite_url).begin() as conn:  # empties a segment: a warning, not a block
            conn.execute(sa.text("DELETE FROM usage_events WHERE event_name = 'report_created'"))
        result = env.run(instance=instance)
        assert result.success
        resources = _resources(env, receiver)
        skipped = _evaluate(failed_checks_alert, instance, result.run_id, resources)
        assert skipped is None  # sent, not skipped

    raw, fields = _message(receiver)
    assert CANARY not in raw
    assert fields["run"] == result.run_id and fields["failed checks"] == "1"
    assert "segment_membership.segment_sizes_steady (WARN)" in raw
    assert "ready_for_pro_upgrade" in raw


def test_no_webhook_means_a_skip_with_the_reason(sqlite_url):
    with sync_world(sqlite_url) as env, dg.DagsterInstance.ephemeral() as instance:
        env.overrides["intercom"] = IntercomResource(access_token="wrong", base_url=env.intercom.url)
        result = env.run(instance=instance)
        skipped = _evaluate(run_failure_alert, instance, result.run_id, env.resources())
    assert isinstance(skipped, dg.SkipReason) and "REVSYNC_ALERT_WEBHOOK_URL" in (skipped.skip_message or "")


def test_delivery_gives_up_after_bounded_retries_without_naming_the_url():
    receiver = Receiver(fail_first=100)
    waits: list[float] = []
    webhook = AlertWebhook(receiver.url, attempts=4, backoff_s=0.5, max_backoff_s=1.0, sleep=waits.append)
    try:
        with pytest.raises(AlertDeliveryFailed) as failure:
            webhook.send({"text": "x"})
    finally:
        webhook.close()
        receiver.stop()
    assert receiver.attempts == 4 and waits == [0.5, 1.0, 1.0]
    assert CANARY not in str(failure.value) and "HTTP 503" in str(failure.value)
