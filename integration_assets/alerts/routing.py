"""Which sinks an alert goes to, from the environment: Slack, email, and always the log.

- `INTEGRATION_ALERT_SLACK_WEBHOOK_URL` set: Slack (`sinks.py`);
- `INTEGRATION_ALERT_SMTP_HOST` set: email (`smtp.py`);
- neither: the log only, as before any was configured.

With one or both set, every alert also goes to the log (so the daemon's log holds each one),
and `FanOutSink` sends it to each remote sink in turn. It counts as delivered when at least one
remote sink took it: someone was told, and the incident is marked alerted; a sink that failed
meanwhile is logged (without its URL or password) and misses that alert. Only when every remote
sink failed does delivery fail, so the next failure of the incident tries all of them again
(a log line alone is not an alert anybody reads).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

from integration_assets.alerts.message import Alert
from integration_assets.alerts.sinks import (
    SLACK_WEBHOOK_ENV,
    AlertDeliveryError,
    AlertSink,
    LogSink,
    SlackWebhookSink,
)
from integration_assets.alerts.smtp import SmtpSettings, SmtpSink

logger = logging.getLogger("integration_assets.alerts")


class FanOutSink:
    """Each alert to the log, then to every remote sink; fails only if all remote ones do."""

    def __init__(self, remote: Sequence[AlertSink], log: AlertSink | None = None) -> None:
        self.remote = list(remote)
        self.log = log or LogSink()

    def send(self, alert: Alert) -> None:
        self.log.send(alert)
        errors = []
        for sink in self.remote:
            try:
                sink.send(alert)
            except AlertDeliveryError as exc:
                logger.warning("%r did not take the alert: %s", sink, exc)
                errors.append(str(exc))
        if self.remote and len(errors) == len(self.remote):
            raise AlertDeliveryError("no sink took the alert: " + "; ".join(errors))

    def __repr__(self) -> str:
        return f"FanOutSink({self.remote!r})"


def remote_sinks(environ: Mapping[str, str]) -> list[AlertSink]:
    """The Slack and email sinks the variables configure, in that order."""
    sinks: list[AlertSink] = []
    url = environ.get(SLACK_WEBHOOK_ENV, "").strip()
    if url:
        sinks.append(SlackWebhookSink(url))
    smtp = SmtpSettings.from_env(environ)
    if smtp is not None:
        sinks.append(SmtpSink(smtp))
    return sinks


def sink_from_env(environ: Mapping[str, str] | None = None) -> AlertSink:
    """The log alone when no remote sink is configured, else a `FanOutSink` of them all."""
    remote = remote_sinks(os.environ if environ is None else environ)
    return FanOutSink(remote) if remote else LogSink()
