"""From "a run failed / succeeded" to at most one message per incident and one per recovery.

A failed run opens (or bumps) an incident per failed entity; an alert goes out only while the
incident has not been announced. A successful run resolves the incidents of what it covered,
and each resolved incident that was announced gets one recovery message. A sink that cannot
deliver does not fail the caller: the incident stays un-announced and the next failure of it
tries again (the error is logged without the webhook URL).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from integration_assets.alerts.incidents import IncidentStore
from integration_assets.alerts.message import (
    DEFAULT_WEBSERVER_URL,
    Alert,
    AlertKind,
    redact_message,
    run_url,
)
from integration_assets.alerts.sinks import AlertDeliveryError, AlertSink

WEBSERVER_URL_ENV = "DAGSTER_WEBSERVER_URL"
logger = logging.getLogger("integration_assets.alerts")


def webserver_url() -> str:
    """The Dagster UI's base URL for run links (`DAGSTER_WEBSERVER_URL`, else local)."""
    return os.environ.get(WEBSERVER_URL_ENV, "").strip() or DEFAULT_WEBSERVER_URL


@dataclass(frozen=True)
class RunOutcome:
    """A finished run as the alerter needs it: whose, what, and (failed) why."""

    run_id: str
    connection: str
    kind: str
    entities: Sequence[str]
    error_class: str = ""
    error_message: str = ""


class Alerter:
    def __init__(self, store: IncidentStore, sink: AlertSink, base_url: str | None = None) -> None:
        self.store = store
        self.sink = sink
        self.base_url = base_url or webserver_url()

    def _deliver(self, alert: Alert) -> bool:
        try:
            self.sink.send(alert)
        except AlertDeliveryError as exc:
            logger.warning("alert for %s/%s not delivered: %s", alert.connection, alert.entity, exc)
            return False
        return True

    def run_failed(self, outcome: RunOutcome) -> list[Alert]:
        """Record the failure of each entity; return the alerts delivered (new incidents)."""
        sent = []
        message = redact_message(outcome.error_message)
        for entity in outcome.entities:
            failure = self.store.record_failure(
                outcome.connection, entity, outcome.kind, outcome.run_id, outcome.error_class
            )
            if failure.incident.alerted:
                continue
            alert = Alert(
                kind=AlertKind.FAILURE,
                connection=outcome.connection,
                entity=entity,
                incident_kind=outcome.kind,
                run_id=outcome.run_id,
                run_url=run_url(self.base_url, outcome.run_id),
                error_class=outcome.error_class,
                error_message=message,
                failures=failure.incident.failures,
            )
            if self._deliver(alert):
                self.store.mark_alerted(failure.incident.id)
                sent.append(alert)
        return sent

    def run_succeeded(self, outcome: RunOutcome, *, all_entities: bool = False) -> list[Alert]:
        """Resolve what the run covered; return the recovery alerts delivered.

        `all_entities` resolves every open incident of the connection and kind (a run whose
        entities are not known individually, e.g. a reconcile of the whole connection).
        """
        resolved = self.store.resolve(
            outcome.connection, outcome.kind, None if all_entities else outcome.entities
        )
        sent = []
        for incident in resolved:
            if not incident.alerted:
                continue  # nobody was told it failed; a recovery would be noise
            alert = Alert(
                kind=AlertKind.RECOVERY,
                connection=incident.connection,
                entity=incident.entity,
                incident_kind=incident.kind,
                run_id=outcome.run_id,
                run_url=run_url(self.base_url, outcome.run_id),
                failures=incident.failures,
            )
            if self._deliver(alert):
                sent.append(alert)
        return sent

    def incident_seen(
        self,
        connection: str,
        entity: str,
        kind: str,
        *,
        seen_by: str,
        message: str,
        url: str,
        run_id: str = "",
        error_class: str = "",
    ) -> Alert | None:
        """Something other than a failed run (a quality verdict, a late sync) is wrong with
        (connection, entity): open or bump its incident of `kind`, and return the alert
        delivered, if this is news. `seen_by` names what saw it (a sync's run id, a lateness
        episode): seen again by the same, it is not counted twice. `url` is what the alert
        links to: the run `run_id`, or without one a page of the UI."""
        failure = self.store.record_failure(connection, entity, kind, seen_by, error_class)
        if failure.incident.alerted:
            return None
        alert = Alert(
            kind=AlertKind.FAILURE,
            connection=connection,
            entity=entity,
            incident_kind=kind,
            run_id=run_id,
            run_url=url,
            error_class=error_class,
            error_message=redact_message(message),
            failures=failure.incident.failures,
        )
        if not self._deliver(alert):
            return None
        self.store.mark_alerted(failure.incident.id)
        return alert

    def incident_cleared(
        self, connection: str, entity: str, kind: str, *, url: str, run_id: str = ""
    ) -> Alert | None:
        """(connection, entity) is fine again as to `kind`: resolve its open incident; the
        recovery delivered, if anyone had been told of it."""
        for incident in self.store.resolve(connection, kind, [entity]):
            if incident.entity != entity or not incident.alerted:
                continue
            alert = Alert(
                kind=AlertKind.RECOVERY,
                connection=connection,
                entity=entity,
                incident_kind=kind,
                run_id=run_id,
                run_url=url,
                failures=incident.failures,
            )
            return alert if self._deliver(alert) else None
        return None
