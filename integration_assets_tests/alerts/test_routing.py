"""Several sinks at once, from the environment: Slack, email and the log each get the alert;
it counts as delivered while any remote sink takes it."""

from __future__ import annotations

import logging

import pytest

from integration_assets.alerts.message import Alert, AlertKind
from integration_assets.alerts.routing import FanOutSink, sink_from_env
from integration_assets.alerts.sinks import SLACK_WEBHOOK_ENV, AlertDeliveryError
from integration_assets.alerts.smtp import (
    SMTP_FROM_ENV,
    SMTP_HOST_ENV,
    SMTP_PORT_ENV,
    SMTP_STARTTLS_ENV,
    SMTP_TO_ENV,
)
from integration_assets_tests.alerts.slack_endpoint import WEBHOOK_PATH, SlackEndpoint
from integration_assets_tests.alerts.smtp_server import SmtpServer, smtp_server

SECRET_PART = WEBHOOK_PATH.rsplit("/", 1)[1]
ALERT = Alert(
    kind=AlertKind.FAILURE,
    connection="demo-shop",
    entity="customers",
    incident_kind="quality_gate",
    run_id="5e6f",
    run_url="https://dagster.example.internal/runs/5e6f",
    error_message="310 of 620 records passed (50.0%), under the threshold of 95.0%",
)


def environment(slack: SlackEndpoint, server: SmtpServer) -> dict[str, str]:
    return {
        SLACK_WEBHOOK_ENV: slack.url,
        SMTP_HOST_ENV: "127.0.0.1",
        SMTP_PORT_ENV: str(server.port),
        SMTP_FROM_ENV: "dagster@example.test",
        SMTP_TO_ENV: "data-oncall@example.test",
        SMTP_STARTTLS_ENV: "false",
    }


def test_one_alert_reaches_slack_email_and_the_log(
    slack: SlackEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server() as server, caplog.at_level(logging.INFO, "integration_assets.alerts"):
        sink = sink_from_env(environment(slack, server))
        sink.send(ALERT)

    title = "Failing: quality gate of demo-shop/customers"
    assert slack.texts == [
        f":red_circle: {title} | 310 of 620 records passed (50.0%), under the threshold of "
        "95.0% | run https://dagster.example.internal/runs/5e6f"
    ]
    (email,) = server.received
    assert email.message["Subject"] == f"[integration] {title}"
    (line,) = [r.getMessage() for r in caplog.records if r.name == "integration_assets.alerts"]
    assert line.startswith(f"integration alert: {title} | ")


def test_a_refusing_slack_does_not_stop_the_email_nor_count_as_undelivered(
    slack: SlackEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    slack.refuse_with = (404, "channel_not_found")
    with smtp_server() as server, caplog.at_level(logging.INFO, "integration_assets.alerts"):
        sink_from_env(environment(slack, server)).send(ALERT)

    assert len(server.received) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "SlackWebhookSink(url=***) did not take the alert: the Slack webhook refused the alert: "
        "404 channel_not_found"
    ]
    assert all(SECRET_PART not in r.getMessage() for r in caplog.records)


def test_when_every_remote_sink_fails_the_alert_is_undelivered(slack: SlackEndpoint) -> None:
    slack.refuse_with = (500, "rollup_error")
    with smtp_server() as server:
        environ = environment(slack, server)
    # the relay is gone: nothing listens on its port any more
    sink = sink_from_env(environ)
    assert isinstance(sink, FanOutSink)
    with pytest.raises(AlertDeliveryError, match="no sink took the alert: the Slack webhook"):
        sink.send(ALERT)
