"""Alert sensors: a failed run, or a successful run with failed checks, posts one webhook message.

A blocking check that fails also fails its run, so the run-failure alert names it; a check that
only warned (or was acknowledged) fails no run, so `failed_checks_alert` reports it. Each message
carries the run id, job, failing steps and checks, counts and a link to the run; every text taken
from the run is scrubbed of the deployment's secrets (resources/alerts.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from resources.alerts import AlertResource, AlertWebhook, redact, slack_message
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


@dataclass(frozen=True)
class Alert:
    """What one message says: its title, detail lines and counts (sent with the run's id, job and link)."""

    title: str
    details: list[str]
    counts: dict[str, int]


Compose = Callable[[dg.RunStatusSensorContext], Alert | dg.SkipReason]
SensorDecorator = Callable[[Callable[..., dg.SkipReason | None]], dg.SensorDefinition]


def _send(
    context: dg.RunStatusSensorContext, alert: Alert, webhook: AlertWebhook, alerts: AlertResource, secrets: list[str]
) -> None:
    run = context.dagster_run
    fields = {"run": run.run_id, "job": run.job_name, **{k: str(v) for k, v in alert.counts.items()}}
    lines = [redact(line, secrets) for line in alert.details[:MAX_DETAILS]]
    try:
        webhook.send(slack_message(redact(alert.title, secrets), fields, alerts.run_url(run.run_id), lines))
    finally:
        webhook.close()


def _alert_sensor(decorator: SensorDecorator, compose: Compose) -> dg.SensorDefinition:
    """A sensor that sends what `compose` makes of a run. It takes every resource holding one of the
    deployment's secrets, so each text taken from the run is scrubbed of all of them."""

    def evaluate(
        context: dg.RunStatusSensorContext,
        alerts: AlertResource,
        stripe: StripeResource,
        intercom: IntercomResource,
        warehouse: WarehouseResource,
        state: StateStoreResource,
    ) -> dg.SkipReason | None:
        alert = compose(context)
        if isinstance(alert, dg.SkipReason):
            return alert
        webhook = alerts.webhook()
        if webhook is None:
            return dg.SkipReason("REVSYNC_ALERT_WEBHOOK_URL is not set: no alert sent")
        secrets = [alerts.webhook_url, stripe.api_key, intercom.access_token, warehouse.url, state.url]
        _send(context, alert, webhook, alerts, secrets)
        return None

    evaluate.__doc__ = compose.__doc__
    return decorator(evaluate)


def _run_failed(context: dg.RunStatusSensorContext) -> Alert:
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
    return Alert(f"revsync: {context.dagster_run.job_name} failed", [*checks, *steps], counts)


def _checks_failed(context: dg.RunStatusSensorContext) -> Alert | dg.SkipReason:
    """A run that succeeded but had failed checks (warnings, acknowledged failures) is worth a look."""
    checks = _failed_checks(context)
    if not checks:
        return dg.SkipReason("every check passed")
    title = f"revsync: {context.dagster_run.job_name} succeeded with {len(checks)} failed check(s)"
    return Alert(title, checks, {"failed checks": len(checks)})


run_failure_alert = _alert_sensor(
    dg.run_failure_sensor(
        name="run_failure_alert",
        description="Posts one webhook message per failed run: failing steps and checks, counts, a link to the run.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    ),
    _run_failed,
)

failed_checks_alert = _alert_sensor(
    dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="failed_checks_alert",
        description="Posts one webhook message per successful run whose checks warned or were acknowledged.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    ),
    _checks_failed,
)
