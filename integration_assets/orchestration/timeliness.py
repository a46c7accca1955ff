"""Which connections are late against their cadence, shown on each asset as a `timeliness` check.

Why a check and not Dagster's `FreshnessPolicy`: in Dagster 1.13 a freshness policy (time
window or cron) is judged on the asset's latest materialization of *any* partition
(`freshness_evaluator.py` reads `AssetRecord.last_materialization`), so one shop syncing on
time hides another that stopped; and it has one window per asset, while each connection
sets its own cadence. `build_last_update_freshness_checks` has the same blind spot for
dynamic partitions. A partitioned asset check (one status per connection) would be the
natural fit, but the 1.13 UI cannot show it for dynamic partitions: the GraphQL resolver of
a check's partition statuses fails ("The instance is not available to load partitions"),
measured with `dagster_graphql` against 1.13.27.

So each sync asset has one unpartitioned check, `timeliness`, that measures every connection
syncing the entity: minutes since its last successful sync (its latest materialization of
the connection's partition) against the cadence's allowance (`cadence.allowance`). It
passes when none is late, and otherwise fails with severity WARN, naming the late
connections in its description; its metadata holds a table of every connection and one
number per connection (`minutes_since_sync/<connection>`), which the UI plots over time.

The `sync_timeliness` sensor evaluates every check every 5 minutes and records the result
as a runless check evaluation (no run is launched), but only when a check's verdict (which
connections are late) changes, or hourly, so the event log does not grow by a row per asset
every 5 minutes. The check can also be executed from the UI, which measures it at once.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DefaultSensorStatus,
    MetadataValue,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    TableColumn,
    TableRecord,
    TableSchema,
    asset_check,
    sensor,
)

from integration_assets.connectors.connections import Connection
from integration_assets.orchestration.cadence import Timeliness
from integration_assets.orchestration.resources import ConnectionsResource
from integration_assets.orchestration.schedules import LoadConnections

CHECK_NAME = "timeliness"
REFRESH = timedelta(hours=1)
"""An unchanged verdict is recorded again after this long, so its numbers stay current."""
_TABLE = TableSchema(
    columns=[
        TableColumn("connection", "string"),
        TableColumn("cadence", "string"),
        TableColumn("minutes_since_sync", "int", description="empty: never synced"),
        TableColumn("allowed_minutes", "int", description="empty: manual, never late"),
        TableColumn("late", "bool"),
    ]
)


def last_successes(
    instance: DagsterInstance, key: AssetKey, connections: set[str]
) -> dict[str, datetime]:
    """When each connection's partition of the asset last materialized (a successful sync).

    Two queries per asset however many connections: the latest event id per partition, then
    those events.
    """
    latest = instance.event_log_storage.get_latest_storage_id_by_partition(
        key, DagsterEventType.ASSET_MATERIALIZATION, partitions=connections
    )
    if not latest:
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, storage_ids=list(latest.values())), limit=len(latest)
    ).records
    return {
        record.partition_key: datetime.fromtimestamp(record.timestamp, UTC)
        for record in records
        if record.partition_key is not None
    }


def measure(
    instance: DagsterInstance,
    vendor: str,
    entity: str,
    connections: Sequence[Connection],
    now: datetime,
) -> list[Timeliness]:
    """Every connection of `vendor` that syncs `entity`, measured against its cadence."""
    mine = [c for c in connections if c.vendor == vendor and entity in c.entities]
    synced = last_successes(instance, AssetKey([vendor, entity]), {c.name for c in mine})
    return [
        Timeliness(
            connection=connection.name,
            entity=entity,
            cadence=connection.entities[entity],
            last_success=synced.get(connection.name),
            now=now,
        )
        for connection in mine
    ]


def _minutes(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds() // 60)


def verdict(measured: Sequence[Timeliness]) -> AssetCheckResult:
    """Pass when no connection is late; else a WARN naming the late connections."""
    late = [m for m in measured if m.late]
    if late:
        description = "Late: " + "; ".join(m.describe() for m in late)
    elif measured:
        description = f"Every connection on time ({len(measured)} measured)"
    else:
        description = "No connection syncs this entity"
    metadata: dict[str, object] = {
        "late_connections": MetadataValue.json([m.connection for m in late]),
        "connections": MetadataValue.table(
            records=[
                TableRecord(
                    {
                        "connection": m.connection,
                        "cadence": m.cadence,
                        "minutes_since_sync": _minutes(m.age),
                        "allowed_minutes": _minutes(m.allowance),
                        "late": m.late,
                    }
                )
                for m in measured
            ],
            schema=_TABLE,
        ),
    }
    for m in measured:
        if m.age is not None:
            metadata[f"minutes_since_sync/{m.connection}"] = _minutes(m.age)
    return AssetCheckResult(
        passed=not late,
        severity=AssetCheckSeverity.WARN,
        description=description,
        metadata=metadata,
    )


def build_timeliness_check(vendor: str, entity: str) -> AssetChecksDefinition:
    """The `timeliness` check of `[vendor, entity]`, executable from the UI."""

    @asset_check(
        asset=AssetKey([vendor, entity]),
        name=CHECK_NAME,
        description=(
            "Connections whose last successful sync is older than their cadence allows "
            "(one interval plus up to an hour of grace); never-synced connections count as late."
        ),
        blocking=False,
    )
    def timeliness(
        context: AssetCheckExecutionContext, connections: ConnectionsResource
    ) -> AssetCheckResult:
        return verdict(measure(context.instance, vendor, entity, connections.connections(), _now()))

    return timeliness


def _now() -> datetime:
    return datetime.now(UTC)


def evaluation(key: AssetCheckKey, result: AssetCheckResult) -> AssetCheckEvaluation:
    """The runless event that records `result` for the check `key`."""
    return AssetCheckEvaluation(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=result.passed,
        metadata=result.metadata,
        severity=result.severity,
        description=result.description,
    )


def due_reports(
    verdicts: dict[AssetCheckKey, AssetCheckResult], cursor: dict[str, dict], now: datetime
) -> tuple[list[AssetCheckEvaluation], dict[str, dict]]:
    """The evaluations worth recording (verdict changed, or older than `REFRESH`), new cursor."""
    events = []
    updated = dict(cursor)
    for key, result in verdicts.items():
        late = sorted(result.metadata["late_connections"].value)  # type: ignore[union-attr, arg-type]
        previous = cursor.get(key.to_user_string())
        stale = previous is None or now.timestamp() - previous["at"] >= REFRESH.total_seconds()
        if stale or previous["late"] != late:
            events.append(evaluation(key, result))
            updated[key.to_user_string()] = {"late": late, "at": now.timestamp()}
    return events, updated


def build_timeliness_sensor(
    assets: Sequence[tuple[str, str]], load: LoadConnections
) -> SensorDefinition:
    """Records every asset's timeliness verdict when it changes (see the module)."""

    @sensor(
        name="sync_timeliness",
        minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING,
        description="Measures each connection's last sync against its cadence (timeliness checks).",
    )
    def sync_timeliness(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        connections = load()
        now = _now()
        verdicts = {
            AssetCheckKey(AssetKey([vendor, entity]), CHECK_NAME): verdict(
                measure(context.instance, vendor, entity, connections, now)
            )
            for vendor, entity in assets
        }
        cursor = json.loads(context.cursor) if context.cursor else {}
        events, updated = due_reports(verdicts, cursor, now)
        if not events:
            return SkipReason("no connection changed between on time and late")
        return SensorResult(asset_events=events, cursor=json.dumps(updated, sort_keys=True))

    return sync_timeliness
