"""Where alerts go: a Slack incoming webhook, or the log.

Slack's incoming webhooks take a JSON POST of a message: `text` (shown in notifications, and
the whole message for clients that cannot render blocks) and optional Block Kit `blocks`. A
good post is answered `200` with the body `ok`; a refused one with a 4xx and a short reason
(`invalid_payload`, `no_text`, `channel_is_archived`, …) in the body.

The webhook URL *is* the credential (anyone holding it can post to the channel), so it is read
from `INTEGRATION_ALERT_SLACK_WEBHOOK_URL` and never appears in a log line, an error or a repr.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx

from integration_assets.alerts.message import Alert, AlertKind

SLACK_WEBHOOK_ENV = "INTEGRATION_ALERT_SLACK_WEBHOOK_URL"
SLACK_TIMEOUT_SECONDS = 10.0
logger = logging.getLogger("integration_assets.alerts")


class AlertDeliveryError(RuntimeError):
    """The sink did not take the alert; the message never includes the webhook URL."""


class AlertSink(Protocol):
    """Something that delivers an alert, or raises `AlertDeliveryError`."""

    def send(self, alert: Alert) -> None: ...


class LogSink:
    """Alerts as log lines: ERROR for a failure, INFO for a recovery (the default sink)."""

    def __init__(self, log: logging.Logger = logger) -> None:
        self.log = log

    def send(self, alert: Alert) -> None:
        level = logging.ERROR if alert.kind is AlertKind.FAILURE else logging.INFO
        self.log.log(level, "integration alert: %s", alert.text)

    def __repr__(self) -> str:
        return f"LogSink({self.log.name!r})"


def slack_payload(alert: Alert) -> dict[str, Any]:
    """The incoming-webhook body: `text` as the fallback, Block Kit blocks for the layout."""
    emoji = ":red_circle:" if alert.kind is AlertKind.FAILURE else ":large_green_circle:"
    fields = [
        {"type": "mrkdwn", "text": f"*Connection*\n{alert.connection}"},
        {"type": "mrkdwn", "text": f"*Entity*\n{alert.entity}"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
        {"type": "section", "fields": fields},
    ]
    if alert.error_class or alert.error_message:
        heading = f"*{alert.error_class}*\n" if alert.error_class else ""
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{heading}```{alert.error_message}```"},
            }
        )
    link = f"Run {alert.run_id}" if alert.run_id else "Open in Dagster"
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{alert.run_url}|{link}>"}]}
    )
    return {"text": f"{emoji} {alert.text}", "blocks": blocks}


class _HideWebhookUrls(logging.Filter):
    """httpx logs every request's full URL at INFO; a webhook URL is a credential."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(str(arg) in self.urls for arg in record.args):
            record.args = tuple("***" if str(a) in self.urls else a for a in record.args)
        return True


_HIDDEN = _HideWebhookUrls()
logging.getLogger("httpx").addFilter(_HIDDEN)


class SlackWebhookSink:
    """Posts each alert to a Slack incoming webhook."""

    def __init__(self, url: str, *, timeout: float = SLACK_TIMEOUT_SECONDS) -> None:
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError(f"{SLACK_WEBHOOK_ENV} must be an https:// URL")
        self._url = url
        self._timeout = timeout
        _HIDDEN.urls.add(url)

    def send(self, alert: Alert) -> None:
        try:
            answer = httpx.post(self._url, json=slack_payload(alert), timeout=self._timeout)
        except httpx.HTTPError as exc:
            # The exception text can include the URL: only its class is passed on.
            raise AlertDeliveryError(
                f"the Slack webhook could not be reached ({type(exc).__name__})"
            ) from None
        if answer.status_code != 200:
            reason = answer.text.strip()[:100]
            raise AlertDeliveryError(
                f"the Slack webhook refused the alert: {answer.status_code} {reason}"
            )

    def __repr__(self) -> str:
        return "SlackWebhookSink(url=***)"
