"""Alerts to a webhook: Slack-compatible JSON, retried with bounded backoff, never carrying a secret.

`AlertWebhook` is the plain client; `AlertResource` is its Dagster wrapper, fed by
`REVSYNC_ALERT_WEBHOOK_URL` (the URL is itself a secret for Slack: it is never logged or sent) and
`REVSYNC_UI_BASE_URL` (for the link to the run). The sensors that send are in orchestration/alerts.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import dagster as dg
import httpx
from pydantic import Field

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
REDACTED = "[redacted]"
WEBHOOK_VARIABLE = "REVSYNC_ALERT_WEBHOOK_URL"
MAX_TEXT = 500


class AlertDeliveryFailed(Exception):
    """The webhook refused or could not be reached on every attempt (the URL is not in the message)."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced, cut to MAX_TEXT characters."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def slack_message(title: str, fields: Mapping[str, str], link: str, details: Iterable[str] = ()) -> dict[str, Any]:
    """A Slack incoming-webhook body: `text` for notifications, `blocks` for the fields and details."""
    lines = [f"*{title}*", *(f"• {line}" for line in details), f"<{link}|Open the run in Dagster>"]
    return {
        "text": f"{title}: {link}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields.items()]},
        ],
    }


class AlertWebhook:
    """POSTs JSON to one webhook URL; 408/429/5xx and connection errors are retried with backoff."""

    def __init__(
        self,
        url: str,
        *,
        attempts: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url
        self._attempts = max(1, attempts)
        self._backoff_s, self._max_backoff_s = backoff_s, max_backoff_s
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self._sleep = sleep

    def __repr__(self) -> str:
        return "AlertWebhook(url=[redacted])"

    def send(self, payload: Mapping[str, Any]) -> int:
        """Delivers `payload`; returns the attempts it took, or raises AlertDeliveryFailed."""
        problem = ""
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._client.post(self._url, json=payload)
            except httpx.TransportError as exc:
                problem = type(exc).__name__  # the exception text may quote the URL
            else:
                if response.is_success:
                    return attempt
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRYABLE_STATUS:
                    break
            if attempt < self._attempts:
                self._sleep(min(self._max_backoff_s, self._backoff_s * 2 ** (attempt - 1)))
        raise AlertDeliveryFailed(f"alert webhook failed after {attempt} attempt(s): {problem}")

    def close(self) -> None:
        self._client.close()


class AlertResource(dg.ConfigurableResource):
    """Where alerts go. Without a webhook URL, the alert sensors skip and say so."""

    webhook_url: str = Field(default="", repr=False, description="Slack-compatible incoming webhook (a secret).")
    ui_base_url: str = Field(
        default="http://127.0.0.1:3000", description="Dagster UI address, for the link to the run in each alert."
    )
    attempts: int = Field(default=4, ge=1, le=10, description="Delivery attempts before the sensor tick fails.")

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_base_url.rstrip('/')}/runs/{run_id}"

    def webhook(self) -> AlertWebhook | None:
        return AlertWebhook(self.webhook_url, attempts=self.attempts) if self.webhook_url else None

    @classmethod
    def from_environment(cls) -> AlertResource:
        """`REVSYNC_ALERT_WEBHOOK_URL` (read when a sensor runs, never printed) and `REVSYNC_UI_BASE_URL`."""
        return cls(
            webhook_url=dg.EnvVar(WEBHOOK_VARIABLE) if WEBHOOK_VARIABLE in os.environ else "",
            ui_base_url=os.environ.get("REVSYNC_UI_BASE_URL", "http://127.0.0.1:3000"),
        )
