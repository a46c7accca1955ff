"""One dynamic partition per connection, per vendor, kept in step with `connections.yaml`."""

from __future__ import annotations

from collections.abc import Callable

from dagster import (
    AddDynamicPartitionsRequest,
    DefaultSensorStatus,
    DynamicPartitionsDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from integration_assets.connectors.connections import Connection


def connection_partitions(vendor: str) -> DynamicPartitionsDefinition:
    """The partitions of every asset of `vendor`: the names of its connections."""
    return DynamicPartitionsDefinition(name=f"{vendor}_connections")


def missing_partitions(
    connections: list[Connection], existing: dict[str, set[str]]
) -> list[AddDynamicPartitionsRequest]:
    """Requests adding each connection not yet a partition of its vendor's definition."""
    wanted: dict[str, list[str]] = {}
    for connection in connections:
        if connection.name not in existing.get(connection.vendor, set()):
            wanted.setdefault(connection.vendor, []).append(connection.name)
    return [
        AddDynamicPartitionsRequest(connection_partitions(vendor).name, names)
        for vendor, names in sorted(wanted.items())
    ]


def build_partitions_sensor(
    vendors: list[str], load: Callable[[], list[Connection]]
) -> SensorDefinition:
    """A sensor that adds a partition for every connection in the connections file.

    Connections removed from the file keep their partition (and its history); they simply
    stop being scheduled.
    """

    @sensor(
        name="connection_partitions",
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        description="Adds a partition to each vendor's assets for every connection in connections.yaml.",
    )
    def connection_partitions_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        connections = load()
        existing = {
            vendor: set(context.instance.get_dynamic_partitions(connection_partitions(vendor).name))
            for vendor in vendors
        }
        requests = missing_partitions(connections, existing)
        if not requests:
            return SkipReason("every connection already has its partition")
        return SensorResult(dynamic_partitions_requests=requests)

    return connection_partitions_sensor
