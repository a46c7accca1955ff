"""Sync schedules: `connections.yaml` cadences become runs of each vendor's sync job.

Per vendor, one job (`<vendor>_sync`, every asset of the vendor, partitioned by connection)
and one schedule (`<vendor>_sync_schedule`) ticking every 15 minutes (`cadence.TICK_CRON`,
UTC). At each tick the schedule reads the connections file, so an edit takes effect at the
next tick without reloading the definitions, and requests **one run per connection** that
has entities due (`cadence.due_entities`): partition key = the connection, asset selection =
its due entities. Inside that run Dagster orders the entities by their dependencies (orders
after customers and products) and runs the others in parallel. A connection not in the file
is never requested; `manual` entities never are.

Each request has a run key `<tick>:<connection>:sync`, so a tick re-evaluated after a daemon
crash never launches a connection twice. Runs are tagged `integration/connection` (the run
queue lets one run per connection in at a time, see `dagster.yaml`) and `integration/target`
(`connection/entity`, comma-separated when a run covers several), to find them in the UI.

A connection added to the file gets its partition here, at the tick, if the partitions
sensor has not added it yet: a request for a partition that does not exist would fail the
whole tick, every connection with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterInstance,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from integration_assets.connectors.connections import Connection
from integration_assets.connectors.spec import ConnectorSpec
from integration_assets.orchestration.cadence import TICK_CRON, TIMEZONE, due_entities
from integration_assets.orchestration.partitions import connection_partitions, missing_partitions
from integration_assets.orchestration.quality_checks import sync_check_keys

CONNECTION_TAG = "integration/connection"
TARGET_TAG = "integration/target"
LoadConnections = Callable[[], list[Connection]]


def run_tags(connection: str, entities: Sequence[str]) -> dict[str, str]:
    """The tags the run queue limits on (`integration/connection`) and people filter by."""
    return {
        CONNECTION_TAG: connection,
        TARGET_TAG: ",".join(f"{connection}/{entity}" for entity in entities),
    }


def tick_label(tick: datetime) -> str:
    """The tick in UTC to the minute, the stable first part of every run key of that tick."""
    return tick.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def sync_job(connector: ConnectorSpec) -> UnresolvedAssetJobDefinition:
    """Every asset of the vendor, partitioned by connection; a run request narrows it."""
    vendor = connector.vendor
    keys = [AssetKey([vendor, entity.name]) for entity in connector.entities]
    return define_asset_job(
        name=f"{vendor}_sync",
        # The assets with their own quality checks (executed by their load ops), but not the
        # separate timeliness checks, which the timeliness sensor measures.
        selection=AssetSelection.assets(*keys).without_checks()
        | AssetSelection.checks(*sync_check_keys(keys)),
        partitions_def=connection_partitions(vendor),
        description=(
            f"Sync {connector.title} entities of one connection (the partition), in dependency "
            "order; launched by the sync schedule for the entities due at a tick."
        ),
        tags={"integration/vendor": vendor},
    )


def sync_requests(
    vendor: str, connections: Sequence[Connection], tick: datetime
) -> list[RunRequest]:
    """One run request per connection of `vendor` with entities due at `tick`."""
    requests = []
    for connection in connections:
        if connection.vendor != vendor:
            continue
        due = due_entities(connection, tick.astimezone(UTC))
        if not due:
            continue
        requests.append(
            RunRequest(
                run_key=f"{tick_label(tick)}:{connection.name}:sync",
                partition_key=connection.name,
                asset_selection=[AssetKey([vendor, entity]) for entity in due],
                # Only the quality checks the load ops execute: a subset without this gets
                # every check of the selected assets even though the job excludes the
                # timeliness checks, which the timeliness sensor measures instead.
                asset_check_keys=sync_check_keys(AssetKey([vendor, e]) for e in due),
                tags=run_tags(connection.name, due),
            )
        )
    return requests


def ensure_partitions(
    instance: DagsterInstance, vendor: str, connections: Sequence[Connection]
) -> None:
    """Add the partitions of `vendor` connections the partitions sensor has not added yet."""
    name = connection_partitions(vendor).name
    assert name is not None
    existing = {name: set(instance.get_dynamic_partitions(name))}
    mine = [connection for connection in connections if connection.vendor == vendor]
    for request in missing_partitions(mine, existing):
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)


def tick_of(context: ScheduleEvaluationContext) -> datetime:
    """The tick being evaluated (now, when evaluated outside the daemon with no time given)."""
    return context.scheduled_execution_time or datetime.now(UTC)


def build_sync_schedule(
    connector: ConnectorSpec, job: UnresolvedAssetJobDefinition, load: LoadConnections
) -> ScheduleDefinition:
    """The vendor's 15-minute schedule; `load` reads the connections file at each tick."""
    vendor = connector.vendor

    @schedule(
        name=f"{vendor}_sync_schedule",
        cron_schedule=TICK_CRON,
        execution_timezone=TIMEZONE,
        job=job,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            f"Every 15 minutes: one run per {connector.title} connection with entities due by "
            "their cadence in connections.yaml (15m, hourly at :00, daily at 03:00 UTC, "
            "realtime polled hourly; manual never)."
        ),
    )
    def sync_schedule(context: ScheduleEvaluationContext) -> Iterator[RunRequest | SkipReason]:
        connections = load()
        requests = sync_requests(vendor, connections, tick_of(context))
        if not requests:
            yield SkipReason(f"no {vendor} connection has an entity due at this tick")
            return
        ensure_partitions(context.instance, vendor, connections)
        yield from requests

    return sync_schedule
