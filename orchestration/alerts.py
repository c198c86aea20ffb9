"""Alert sensors: a failed run, or a successful run with failed checks, posts one webhook message.

A blocking check that fails also fails its run, so the run-failure alert names it; a check that
only warned (or was acknowledged) fails no run, so `failed_checks_alert` reports it. Each message
carries the run id, job, failing steps and checks, counts and a link to the run; every text taken
from the run is scrubbed of the deployment's secrets (resources/alerts.py).
"""

from __future__ import annotations

import dagster as dg

from resources.alerts import AlertResource, redact, slack_message
from resources.intercom import IntercomResource
from resources.state import StateStoreResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource

MAX_DETAILS = 10


def _events(context: dg.RunStatusSensorContext, event_type: dg.DagsterEventType) -> list[dg.DagsterEvent]:
    entries = context.instance.all_logs(context.dagster_run.run_id, of_type=event_type)
    return [entry.dagster_event for entry in entries if entry.dagster_event is not None]


def _failed_checks(context: dg.RunStatusSensorContext) -> list[str]:
    lines = []
    for event in _events(context, dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = event.event_specific_data
        if not isinstance(evaluation, dg.AssetCheckEvaluation) or evaluation.passed:
            continue
        name = f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
        lines.append(f"check {name} ({evaluation.severity.value}): {evaluation.description or 'failed'}")
    return lines


def _step_error(event: dg.DagsterEvent) -> str:
    error = event.step_failure_data.error
    return error.message.strip() if error else ""


def _send(
    context: dg.RunStatusSensorContext,
    title: str,
    details: list[str],
    counts: dict[str, int],
    alerts: AlertResource,
    secrets: list[str],
) -> dg.SkipReason | None:
    webhook = alerts.webhook()
    if webhook is None:
        return dg.SkipReason("REVSYNC_ALERT_WEBHOOK_URL is not set: no alert sent")
    run = context.dagster_run
    fields = {"run": run.run_id, "job": run.job_name, **{k: str(v) for k, v in counts.items()}}
    lines = [redact(line, secrets) for line in details[:MAX_DETAILS]]
    try:
        webhook.send(slack_message(redact(title, secrets), fields, alerts.run_url(run.run_id), lines))
    finally:
        webhook.close()
    return None


def _secrets(
    alerts: AlertResource,
    stripe: StripeResource,
    intercom: IntercomResource,
    warehouse: WarehouseResource,
    state: StateStoreResource,
) -> list[str]:
    return [alerts.webhook_url, stripe.api_key, intercom.access_token, warehouse.url, state.url]


@dg.run_failure_sensor(
    name="run_failure_alert",
    description="Posts one webhook message per failed run: failing steps and checks, counts, a link to the run.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_failure_alert(
    context: dg.RunFailureSensorContext,
    alerts: AlertResource,
    stripe: StripeResource,
    intercom: IntercomResource,
    warehouse: WarehouseResource,
    state: StateStoreResource,
) -> dg.SkipReason | None:
    """One message per failed run, naming the failing steps (with their errors) and failed checks."""
    steps = [
        f"step {event.step_key}: {_step_error(event)}" for event in _events(context, dg.DagsterEventType.STEP_FAILURE)
    ]
    checks = _failed_checks(context)
    counts = {
        "failed steps": len(steps),
        "failed checks": len(checks),
        "assets materialized": len(_events(context, dg.DagsterEventType.ASSET_MATERIALIZATION)),
    }
    title = f"revsync: {context.dagster_run.job_name} failed"
    return _send(
        context, title, [*checks, *steps], counts, alerts, _secrets(alerts, stripe, intercom, warehouse, state)
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="failed_checks_alert",
    description="Posts one webhook message per successful run whose checks warned or were acknowledged.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def failed_checks_alert(
    context: dg.RunStatusSensorContext,
    alerts: AlertResource,
    stripe: StripeResource,
    intercom: IntercomResource,
    warehouse: WarehouseResource,
    state: StateStoreResource,
) -> dg.SkipReason | None:
    """A run that succeeded but had failed checks (warnings, acknowledged failures) is worth a look."""
    checks = _failed_checks(context)
    if not checks:
        return dg.SkipReason("every check passed")
    title = f"revsync: {context.dagster_run.job_name} succeeded with {len(checks)} failed check(s)"
    return _send(
        context,
        title,
        checks,
        {"failed checks": len(checks)},
        alerts,
        _secrets(alerts, stripe, intercom, warehouse, state),
    )
