"""Alerts by email, through the company's SMTP relay: one plain-text message per alert.

Configured from the environment, read when the sink is built (at each sensor evaluation):

| variable | meaning |
| --- | --- |
| `INTEGRATION_ALERT_SMTP_HOST` | the relay; unset means no email sink |
| `INTEGRATION_ALERT_SMTP_PORT` | default 587 (submission) |
| `INTEGRATION_ALERT_SMTP_FROM` | the sender address |
| `INTEGRATION_ALERT_SMTP_TO` | recipients, comma-separated |
| `INTEGRATION_ALERT_SMTP_USERNAME` | optional: log in as this user |
| `INTEGRATION_ALERT_SMTP_PASSWORD` | its password: only ever from the environment |
| `INTEGRATION_ALERT_SMTP_STARTTLS` | `true` (default) or `false`: upgrade the connection with STARTTLS |
| `INTEGRATION_ALERT_SMTP_CA_FILE` | optional: a CA bundle to verify the relay with (a private CA) |

A password is never sent over a connection that is not encrypted, except to a relay on this
machine (127.0.0.1 / localhost): a login without STARTTLS to any other host is refused when
the sink is built. The password appears in no repr, log line or error: failures are reported
by the exception class and the server's reply code only.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from integration_assets.alerts.message import Alert, AlertKind
from integration_assets.alerts.sinks import AlertDeliveryError

SMTP_HOST_ENV = "INTEGRATION_ALERT_SMTP_HOST"
SMTP_PORT_ENV = "INTEGRATION_ALERT_SMTP_PORT"
SMTP_FROM_ENV = "INTEGRATION_ALERT_SMTP_FROM"
SMTP_TO_ENV = "INTEGRATION_ALERT_SMTP_TO"
SMTP_USERNAME_ENV = "INTEGRATION_ALERT_SMTP_USERNAME"
SMTP_PASSWORD_ENV = "INTEGRATION_ALERT_SMTP_PASSWORD"
SMTP_STARTTLS_ENV = "INTEGRATION_ALERT_SMTP_STARTTLS"
SMTP_CA_FILE_ENV = "INTEGRATION_ALERT_SMTP_CA_FILE"
DEFAULT_PORT = 587
SMTP_TIMEOUT_SECONDS = 10.0
SUBJECT_PREFIX = "[integration]"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SmtpConfigError(ValueError):
    """The SMTP variables are incomplete or unsafe; the message names the variable."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    ca_file: str | None = None
    timeout: float = SMTP_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmtpSettings | None:
        """The settings the variables give, None when no host is set."""
        host = environ.get(SMTP_HOST_ENV, "").strip()
        if not host:
            return None
        sender = environ.get(SMTP_FROM_ENV, "").strip()
        recipients = tuple(r.strip() for r in environ.get(SMTP_TO_ENV, "").split(",") if r.strip())
        if not sender:
            raise SmtpConfigError(f"{SMTP_FROM_ENV} must be set when {SMTP_HOST_ENV} is")
        if not recipients:
            raise SmtpConfigError(f"{SMTP_TO_ENV} must name at least one recipient")
        port_text = environ.get(SMTP_PORT_ENV, "").strip() or str(DEFAULT_PORT)
        if not port_text.isdigit():
            raise SmtpConfigError(f"{SMTP_PORT_ENV} must be a port number, not {port_text!r}")
        starttls = environ.get(SMTP_STARTTLS_ENV, "true").strip().lower()
        if starttls not in ("true", "false", "1", "0", "yes", "no"):
            raise SmtpConfigError(f"{SMTP_STARTTLS_ENV} must be true or false")
        return cls(
            host=host,
            sender=sender,
            recipients=recipients,
            port=int(port_text),
            username=environ.get(SMTP_USERNAME_ENV, "").strip() or None,
            password=environ.get(SMTP_PASSWORD_ENV) or None,
            starttls=starttls in ("true", "1", "yes"),
            ca_file=environ.get(SMTP_CA_FILE_ENV, "").strip() or None,
        )


def email_body(alert: Alert) -> str:
    """The alert as a plain-text email body, one fact per line."""
    lines = [
        alert.title,
        "",
        f"Connection: {alert.connection}",
        f"Entity: {alert.entity}",
        f"What: {alert.incident_kind}",
    ]
    if alert.kind is AlertKind.FAILURE and (alert.error_class or alert.error_message):
        detail = ": ".join(p for p in (alert.error_class, alert.error_message) if p)
        lines += ["", detail]
    lines += ["", f"{'Run' if alert.run_id else 'Dagster'}: {alert.run_url}"]
    return "\n".join(lines) + "\n"


class SmtpSink:
    """Sends each alert as one email through an SMTP relay."""

    def __init__(self, settings: SmtpSettings) -> None:
        if settings.username and not settings.password:
            raise SmtpConfigError(f"{SMTP_PASSWORD_ENV} must be set when {SMTP_USERNAME_ENV} is")
        if settings.username and not settings.starttls and settings.host not in _LOOPBACK:
            raise SmtpConfigError(
                f"{SMTP_STARTTLS_ENV}=false would send the SMTP password unencrypted to "
                f"{settings.host}; enable STARTTLS or use a relay on this machine"
            )
        self.settings = settings

    def message(self, alert: Alert) -> EmailMessage:
        s = self.settings
        message = EmailMessage()
        message["Subject"] = f"{SUBJECT_PREFIX} {alert.title}"
        message["From"] = s.sender
        message["To"] = ", ".join(s.recipients)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        message.set_content(email_body(alert))
        return message

    def send(self, alert: Alert) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=s.ca_file))
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(self.message(alert))
        except smtplib.SMTPResponseException as exc:
            # The reply code, not the reply text: some servers echo what they were sent.
            raise AlertDeliveryError(
                f"the SMTP server {s.host}:{s.port} refused the alert "
                f"({type(exc).__name__} {exc.smtp_code})"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise AlertDeliveryError(
                f"the SMTP server {s.host}:{s.port} could not take the alert ({type(exc).__name__})"
            ) from None

    def __repr__(self) -> str:
        s = self.settings
        return f"SmtpSink({s.host}:{s.port}, to={len(s.recipients)} recipient(s))"
