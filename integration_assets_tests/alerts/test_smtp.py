"""Email alerts through a real SMTP server on the loopback: what arrives, how the sink logs
in, and that its password is nowhere but in the login."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from integration_assets.alerts.message import Alert, AlertKind
from integration_assets.alerts.sinks import AlertDeliveryError
from integration_assets.alerts.smtp import (
    SMTP_CA_FILE_ENV,
    SMTP_FROM_ENV,
    SMTP_HOST_ENV,
    SMTP_PASSWORD_ENV,
    SMTP_PORT_ENV,
    SMTP_STARTTLS_ENV,
    SMTP_TO_ENV,
    SMTP_USERNAME_ENV,
    SmtpConfigError,
    SmtpSettings,
    SmtpSink,
)
from integration_assets_tests.alerts.smtp_server import (
    PASSWORD,
    USERNAME,
    SmtpServer,
    self_signed,
    smtp_server,
)

FAILURE = Alert(
    kind=AlertKind.FAILURE,
    connection="demo-shop",
    entity="orders",
    incident_kind="sync",
    run_id="0f1e2d3c",
    run_url="https://dagster.example.internal/runs/0f1e2d3c",
    error_class="AuthenticationError",
    error_message="shopify/orders: 401 (set DEMO_TOKEN)",
)


def env(server: SmtpServer, **extra: str) -> dict[str, str]:
    return {
        SMTP_HOST_ENV: "127.0.0.1",
        SMTP_PORT_ENV: str(server.port),
        SMTP_FROM_ENV: "dagster@example.test",
        SMTP_TO_ENV: "data-oncall@example.test, owner@example.test",
        SMTP_STARTTLS_ENV: "false",
        **extra,
    }


def sink(environ: dict[str, str]) -> SmtpSink:
    settings = SmtpSettings.from_env(environ)
    assert settings is not None
    return SmtpSink(settings)


def test_an_alert_arrives_as_one_plain_text_email_to_every_recipient() -> None:
    with smtp_server() as server:
        sink(env(server)).send(FAILURE)

    (received,) = server.received
    assert received.sender == "dagster@example.test"
    assert received.recipients == ["data-oncall@example.test", "owner@example.test"]
    message = received.message
    assert message["Subject"] == "[integration] Failing: sync of demo-shop/orders"
    assert message.get_content_type() == "text/plain"
    assert message.get_content().replace("\r\n", "\n") == (  # SMTP lines end in CRLF
        "Failing: sync of demo-shop/orders\n\n"
        "Connection: demo-shop\nEntity: orders\nWhat: sync\n\n"
        "AuthenticationError: shopify/orders: 401 (set DEMO_TOKEN)\n\n"
        "Run: https://dagster.example.internal/runs/0f1e2d3c\n"
    )


def test_the_sink_logs_in_over_starttls_and_the_password_goes_nowhere_else(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cert, key = self_signed(tmp_path)
    with smtp_server(tls=(cert, key)) as server:
        environ = env(
            server,
            **{
                SMTP_STARTTLS_ENV: "true",
                SMTP_CA_FILE_ENV: str(cert),
                SMTP_USERNAME_ENV: USERNAME,
                SMTP_PASSWORD_ENV: PASSWORD,
            },
        )
        the_sink = sink(environ)
        with caplog.at_level(logging.DEBUG):
            the_sink.send(FAILURE)

    assert server.logins == [(USERNAME, True)]
    (received,) = server.received
    assert received.encrypted
    assert PASSWORD.encode() not in received.raw
    assert PASSWORD not in repr(the_sink) + repr(the_sink.settings)
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)


def test_a_wrong_password_is_an_error_naming_the_reply_code_not_the_password(
    tmp_path: Path,
) -> None:
    cert, key = self_signed(tmp_path)
    with smtp_server(tls=(cert, key)) as server:
        environ = env(
            server,
            **{
                SMTP_STARTTLS_ENV: "true",
                SMTP_CA_FILE_ENV: str(cert),
                SMTP_USERNAME_ENV: USERNAME,
                SMTP_PASSWORD_ENV: "wrong-" + PASSWORD,
            },
        )
        with pytest.raises(AlertDeliveryError) as caught:
            sink(environ).send(FAILURE)

    assert str(caught.value) == (
        f"the SMTP server 127.0.0.1:{server.port} refused the alert (SMTPAuthenticationError 535)"
    )
    assert caught.value.__cause__ is None and PASSWORD not in str(caught.value)
    assert server.received == []


def test_an_unverifiable_certificate_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with smtp_server(tls=(cert, key)) as server:
        environ = env(
            server,
            **{
                SMTP_STARTTLS_ENV: "true",
                SMTP_USERNAME_ENV: USERNAME,
                SMTP_PASSWORD_ENV: PASSWORD,
            },
        )  # no CA file: the self-signed certificate cannot be verified
        with pytest.raises(AlertDeliveryError, match=r"\(SSLCertVerificationError\)"):
            sink(environ).send(FAILURE)
    assert server.logins == [] and server.received == []


def test_a_password_over_plain_text_to_another_host_is_refused_at_configuration() -> None:
    settings = SmtpSettings(
        host="smtp.example.test",
        sender="dagster@example.test",
        recipients=("oncall@example.test",),
        username=USERNAME,
        password=PASSWORD,
        starttls=False,
    )
    with pytest.raises(SmtpConfigError, match=r"unencrypted to smtp\.example\.test") as caught:
        SmtpSink(settings)
    assert PASSWORD not in str(caught.value)


def test_incomplete_settings_name_the_missing_variable() -> None:
    assert SmtpSettings.from_env({}) is None
    with pytest.raises(SmtpConfigError, match=SMTP_FROM_ENV):
        SmtpSettings.from_env({SMTP_HOST_ENV: "smtp.example.test"})
    with pytest.raises(SmtpConfigError, match=SMTP_TO_ENV):
        SmtpSettings.from_env({SMTP_HOST_ENV: "smtp.example.test", SMTP_FROM_ENV: "a@b.test"})
    defaults = SmtpSettings.from_env(
        {SMTP_HOST_ENV: "smtp.example.test", SMTP_FROM_ENV: "a@b.test", SMTP_TO_ENV: "c@d.test"}
    )
    assert defaults is not None and (defaults.port, defaults.starttls) == (587, True)
