"""Lateness alerts: a (connection, entity) whose last successful sync is older than its cadence
allows is an incident of kind `late`, announced once, and recovered once it syncs again.

The measurement is the `timeliness` check's (`orchestration/cadence.py`); this module only
turns it into incidents. One lateness episode is identified by the last success it began
from, so measuring it again every few minutes counts it once. A connection that never synced
is shown late by the check but not alerted: on a fresh deployment every connection is "never
synced" until its first tick, and a first sync that fails is already alerted as a failure.
Nor is one whose syncs are failing or stopped by the quality gate (an open `sync` or
`quality_gate` incident): being late is then the consequence of what was already said.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from integration_assets.alerts.alerter import Alerter
from integration_assets.alerts.message import Alert

LATE = "late"
EXPLAINED_BY = frozenset({"sync", "quality_gate"})
"""Open incidents of these kinds already say why the entity is late."""


@dataclass(frozen=True)
class Lateness:
    """One (connection, entity) measured against its cadence."""

    vendor: str
    connection: str
    entity: str
    late: bool
    last_success: datetime | None
    description: str
    """What a person reads: `demo-shop: last synced 31 min ago (15m, allowed 30 min)`."""


def asset_url(base_url: str, vendor: str, entity: str) -> str:
    """The asset's page in the Dagster UI (where its timeliness check is shown)."""
    return f"{base_url.rstrip('/')}/assets/{vendor}/{entity}"


def judge_lateness(alerter: Alerter, measured: Iterable[Lateness]) -> list[Alert]:
    """Open or clear the `late` incident of each measured (connection, entity); the alerts
    delivered."""
    sent = []
    for m in measured:
        if m.last_success is None:
            continue  # never synced: not alerted (see the module)
        url = asset_url(alerter.base_url, m.vendor, m.entity)
        if m.late and alerter.store.open_kinds(m.connection, m.entity) & EXPLAINED_BY:
            continue  # failing or stopped: already alerted as such
        if m.late:
            alert = alerter.incident_seen(
                m.connection,
                m.entity,
                LATE,
                seen_by=f"late-since-{m.last_success.isoformat()}",
                message=m.description,
                url=url,
            )
        else:
            alert = alerter.incident_cleared(m.connection, m.entity, LATE, url=url)
        if alert is not None:
            sent.append(alert)
    return sent
