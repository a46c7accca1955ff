"""What an alert says, and the redaction every piece of it goes through.

Error messages come from exceptions that may quote a URL with a token in its query, an email
address from a record, or a vendor's text. An alert leaves the company (Slack), so its text
is redacted here, once, whatever the sink: URLs through `redact_url`, anything that looks like
an email address or phone number masked, and the whole message bounded in length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from integration_assets.extract.errors import redact_url
from integration_assets.mapping.masking import mask_text

MAX_MESSAGE_CHARS = 500
DEFAULT_WEBSERVER_URL = "http://127.0.0.1:3000"
_URL = re.compile(r"https?://[^\s'\"<>)]+")
_EMAIL = re.compile(r"[^\s'\"<>(),;:]+@[^\s'\"<>(),;:]+")
# International (+...) or North American (555 123 4567) numbers; not dates, ids or counts.
_PHONE = re.compile(r"\+\d[\d ()./-]{6,}\d|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")


class AlertKind(StrEnum):
    FAILURE = "failure"
    RECOVERY = "recovery"


RUN_KINDS = frozenset({"sync", "reconcile"})
"""Incident kinds that runs open and close; the others are judged per sync or measurement."""
LABELS = {
    "quality_gate": "quality gate",
    "quality_score": "quality score",
    "anomaly": "anomaly check",
    "drift": "drift check",
    "late": "timeliness",
}
"""How an incident kind reads in a title (a run kind reads as itself)."""


@dataclass(frozen=True)
class Alert:
    """One message about one incident: a (connection, entity, kind) that failed or recovered."""

    kind: AlertKind
    connection: str
    entity: str
    incident_kind: str
    """What failed: `sync` or `reconcile`."""
    run_id: str
    run_url: str
    error_class: str = ""
    error_message: str = ""
    failures: int = 1

    @property
    def title(self) -> str:
        target = f"{self.connection}/{self.entity}"
        label = LABELS.get(self.incident_kind, self.incident_kind)
        plural = "s" if self.failures != 1 else ""
        if self.kind is AlertKind.RECOVERY and self.incident_kind in RUN_KINDS:
            return (
                f"Recovered: {label} of {target} succeeded after {self.failures} failed run{plural}"
            )
        if self.kind is AlertKind.RECOVERY:
            return f"Recovered: {label} of {target} is fine again"
        return f"Failing: {label} of {target}"

    @property
    def link_text(self) -> str:
        """What the link is to: the run, or (for an alert no run caused) the Dagster UI page."""
        return "run" if self.run_id else "see"

    @property
    def text(self) -> str:
        """The whole alert as one line of plain text (the log, and Slack's fallback)."""
        parts = [self.title]
        if self.error_class:
            parts.append(f"{self.error_class}: {self.error_message}")
        elif self.error_message:
            parts.append(self.error_message)
        parts.append(f"{self.link_text} {self.run_url}")
        return " | ".join(parts)


def redact_message(message: str) -> str:
    """`message` safe to send out: URLs redacted, emails and phone numbers masked, bounded."""
    text = _URL.sub(lambda m: redact_url(m.group(0)), message)
    text = _EMAIL.sub(lambda m: mask_text(m.group(0)), text)
    text = _PHONE.sub(lambda m: mask_text(m.group(0)), text)
    text = " ".join(text.split())
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


def run_url(webserver_url: str, run_id: str) -> str:
    """The run's page in the Dagster UI."""
    return f"{webserver_url.rstrip('/')}/runs/{run_id}"
