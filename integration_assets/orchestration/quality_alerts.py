"""The sensors that alert on quality and lateness; the rules are in `integration_assets.alerts`.

- `quality_alerts` (every minute) reads the `quality_metrics` rows written since its cursor (the
  last row id it judged) and hands them to `alerts.quality.QualityAlerts`: a failed gate, a
  score drop, anomalies and drift become incidents, one alert each and one recovery. Its
  first evaluation starts after the newest row, so history already in the warehouse is not
  alerted.
- `late_sync_alerts` (every 5 minutes) measures every (connection, entity) as the
  `timeliness` checks do and hands the verdicts to `alerts.lateness`: a connection whose
  last sync is older than its cadence allows is one alert, and one recovery once it syncs.
  (The `sync_timeliness` sensor records the checks; it does not alert.)

Both start RUNNING and send to the sinks configured in the environment (Slack, email, the
log: `alerts/routing.py`), read at each evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache

from dagster import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from integration_assets.alerts.alerter import Alerter
from integration_assets.alerts.incidents import IncidentStore
from integration_assets.alerts.lateness import Lateness, judge_lateness
from integration_assets.alerts.quality import QualityAlerts, SettingsLookup
from integration_assets.alerts.routing import sink_from_env
from integration_assets.alerts.sinks import AlertSink
from integration_assets.connectors.connections import ConnectionsFileError
from integration_assets.mapping.errors import MappingError
from integration_assets.orchestration.resources import ConnectionsResource, WarehouseResource
from integration_assets.orchestration.schedules import LoadConnections
from integration_assets.orchestration.timeliness import measure
from integration_assets.quality.settings import QualitySettings

QUALITY_SENSOR = "quality_alerts"
LATE_SENSOR = "late_sync_alerts"
SinkFactory = Callable[[], AlertSink]
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def entity_settings(connections: ConnectionsResource) -> SettingsLookup:
    """Each (connection, entity)'s quality settings (its mapping's, override included), for
    the score-drop rule. A connection or mapping that no longer loads falls back to the
    defaults: its alert still goes out, and its own syncs report the broken configuration.

    Each (connection, entity) is read once per lookup (the sensor makes one per evaluation,
    so an edited file counts from the next one): reading means loading the connections file
    and compiling the mapping, tens of milliseconds, which a tick judging a day of hourly
    syncs of one entity would otherwise pay for every row."""

    @cache
    def lookup(connection: str, entity: str) -> QualitySettings:
        try:
            return connections.target(connection, entity).mapping.quality
        except (ConnectionsFileError, MappingError):
            return QualitySettings()

    return lookup


def build_quality_alert_sensors(
    assets: Sequence[tuple[str, str]],
    load: LoadConnections,
    sink: SinkFactory = sink_from_env,
    clock: Clock = _now,
) -> list[SensorDefinition]:
    """`quality_alerts` and `late_sync_alerts` (see the module); `sink` is called at each
    evaluation, `clock` gives the time lateness is measured at."""

    @sensor(
        name=QUALITY_SENSOR,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "One alert per quality incident (gate failed, score drop, anomaly, drift) from the "
            "quality_metrics rows since the cursor, and one when it recovers."
        ),
    )
    def quality_alerts(
        context: SensorEvaluationContext,
        warehouse: WarehouseResource,
        connections: ConnectionsResource,
    ) -> SensorResult:
        store = IncidentStore(warehouse.get())
        rules = QualityAlerts(
            warehouse.get(), Alerter(store, sink()), settings=entity_settings(connections)
        )
        if context.cursor is None:
            start = rules.newest_id()
            return SensorResult(
                cursor=str(start),
                skip_reason=f"starting after quality row {start}: history is not alerted",
            )
        after = int(context.cursor)
        last, sent = rules.process(after)
        for alert in sent:
            context.log.info(f"quality alert: {alert.title}")
        if last == after:
            return SensorResult(cursor=str(last), skip_reason="no new quality rows")
        return SensorResult(cursor=str(last))

    @sensor(
        name=LATE_SENSOR,
        minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "One alert when a connection's entity has not synced within its cadence's "
            "allowance, and one when it syncs again."
        ),
    )
    def late_sync_alerts(
        context: SensorEvaluationContext, warehouse: WarehouseResource
    ) -> SensorResult:
        connections, now = load(), clock()
        measured = [
            Lateness(
                vendor=vendor,
                connection=m.connection,
                entity=entity,
                late=m.late,
                last_success=m.last_success,
                description=m.describe(),
            )
            for vendor, entity in assets
            for m in measure(context.instance, vendor, entity, connections, now)
        ]
        alerter = Alerter(IncidentStore(warehouse.get()), sink())
        sent = judge_lateness(alerter, measured)
        for alert in sent:
            context.log.info(f"lateness alert: {alert.title}")
        late = sum(m.late for m in measured)
        return SensorResult(
            skip_reason=None if sent else f"{late} of {len(measured)} late, nothing new to say"
        )

    return [quality_alerts, late_sync_alerts]
