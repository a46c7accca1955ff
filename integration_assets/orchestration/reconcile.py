"""Daily reconciliation of deletes as a Dagster job: not an asset, because it makes no data.

Per vendor, an op job `<vendor>_reconcile`, partitioned by connection like the assets: a
planning op lists the connection's entities to reconcile (those the vendor can list by id,
`EntitySpec.ids_only_params` or `ids_query`, that the connection syncs on a schedule; run config may name
others, e.g. a `manual` one), and one mapped op per entity (`<vendor>_reconcile_entity`) runs `sync.reconcile.run_reconcile`
in the vendor's pool. Each entity succeeds or fails on its own; a refusal (`ReconcileRefused`:
the listing looks like an outage) fails that step without retries, for a person to look at.

The schedule `<vendor>_reconcile_schedule` runs at `cadence.RECONCILE_CRON` (04:00 UTC), one
run per connection with something to reconcile, run key `<tick>:<connection>:reconcile`,
tagged like the sync runs so the run queue keeps it from overlapping a sync of the same
connection.
"""

from collections.abc import Iterator
from dataclasses import asdict

from dagster import (
    Config,
    DefaultScheduleStatus,
    DynamicOut,
    DynamicOutput,
    JobDefinition,
    OpExecutionContext,
    Output,
    RetryPolicy,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    job,
    op,
    schedule,
)

from integration_assets.connectors.connections import Connection, ConnectionsFileError
from integration_assets.connectors.spec import ConnectorSpec
from integration_assets.orchestration.assets import DEFAULT_RETRY_POLICY
from integration_assets.orchestration.cadence import RECONCILE_CRON, TIMEZONE
from integration_assets.orchestration.failures import fail_fast_on_permanent_errors
from integration_assets.orchestration.partitions import connection_partitions
from integration_assets.orchestration.resources import (
    ConnectionsResource,
    SyncSettingsResource,
    WarehouseResource,
)
from integration_assets.orchestration.schedules import (
    LoadConnections,
    ensure_partitions,
    run_tags,
    tick_label,
    tick_of,
)
from integration_assets.sync.reconcile import DEFAULT_MAX_DELETED_FRACTION, run_reconcile


class ReconcilePlanConfig(Config):
    """Run config of the planning op."""

    entities: list[str] = []
    """Reconcile these entities; empty means every scheduled entity that can be reconciled."""


class ReconcileConfig(Config):
    """Run config of the per-entity op."""

    max_deleted_fraction: float = DEFAULT_MAX_DELETED_FRACTION
    """Refuse to mark more than this share of live rows (1.0 applies a real mass deletion)."""


def scheduled_reconciles(connection: Connection) -> list[str]:
    """The connection's entities that a daily reconcile covers: listable by id through the API
    the connection speaks (a GraphQL connection by its id query), not manual."""
    return [
        entity.name
        for entity in connection.connector.entities
        if entity.reconciled and connection.entities.get(entity.name, "manual") != "manual"
    ]


def build_reconcile_job(
    connector: ConnectorSpec, retry_policy: RetryPolicy | None = DEFAULT_RETRY_POLICY
) -> JobDefinition:
    """The vendor's reconcile job: plan the connection's entities, reconcile each."""
    vendor = connector.vendor

    @op(
        name=f"{vendor}_reconcile_plan",
        description="List the connection's entities to reconcile (one mapped step each).",
        out=DynamicOut(str),
        tags={"integration/vendor": vendor},
    )
    def plan(
        context: OpExecutionContext, config: ReconcilePlanConfig, connections: ConnectionsResource
    ) -> Iterator[DynamicOutput[str]]:
        with fail_fast_on_permanent_errors():
            connection = _connection(connections, context.partition_key)
            entities = config.entities or scheduled_reconciles(connection)
        if not entities:
            context.log.info(f"connection {connection.name!r} has no entity to reconcile")
        for entity in entities:
            yield DynamicOutput(entity, mapping_key=entity)

    @op(
        name=f"{vendor}_reconcile_entity",
        description=f"Walk {connector.title} ids and soft-delete rows of vanished records.",
        pool=vendor,
        retry_policy=retry_policy,
        tags={"integration/vendor": vendor},
    )
    def reconcile(
        context: OpExecutionContext,
        config: ReconcileConfig,
        entity: str,
        warehouse: WarehouseResource,
        connections: ConnectionsResource,
        sync_settings: SyncSettingsResource,
    ) -> Output[dict]:
        with fail_fast_on_permanent_errors():
            target = connections.target(context.partition_key, entity)
            result = run_reconcile(
                target,
                warehouse.get(),
                settings=sync_settings.settings().extract,
                max_deleted_fraction=config.max_deleted_fraction,
            )
        values = asdict(result)
        context.log.info(
            f"{vendor}/{entity} ({result.connection}): {result.marked_deleted} marked deleted, "
            f"{result.restored} restored of {result.seen} listed"
        )
        return Output(values, metadata=values)

    @job(
        name=f"{vendor}_reconcile",
        description=(
            f"Soft-delete rows of {connector.title} records the vendor no longer lists, for "
            "one connection (the partition)."
        ),
        partitions_def=connection_partitions(vendor),
        tags={"integration/vendor": vendor},
    )
    def reconcile_job() -> None:
        plan().map(reconcile)

    return reconcile_job


def _connection(connections: ConnectionsResource, name: str) -> Connection:
    for connection in connections.connections():
        if connection.name == name:
            return connection
    raise ConnectionsFileError(f"no connection {name!r} in the connections file")


def build_reconcile_schedule(
    connector: ConnectorSpec, reconcile_job: JobDefinition, load: LoadConnections
) -> ScheduleDefinition:
    """Daily: one reconcile run per connection of the vendor with an entity to reconcile."""
    vendor = connector.vendor

    @schedule(
        name=f"{vendor}_reconcile_schedule",
        cron_schedule=RECONCILE_CRON,
        execution_timezone=TIMEZONE,
        job=reconcile_job,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            f"Daily: reconcile deletes of every {connector.title} connection's scheduled "
            "entities that can be listed by id."
        ),
    )
    def reconcile_schedule(
        context: ScheduleEvaluationContext,
    ) -> Iterator[RunRequest | SkipReason]:
        connections = [c for c in load() if c.vendor == vendor]
        tick = tick_of(context)
        requests = []
        for connection in connections:
            entities = scheduled_reconciles(connection)
            if entities:
                requests.append(
                    RunRequest(
                        run_key=f"{tick_label(tick)}:{connection.name}:reconcile",
                        partition_key=connection.name,
                        tags=run_tags(connection.name, entities),
                    )
                )
        if not requests:
            yield SkipReason(f"no {vendor} connection has an entity to reconcile")
            return
        ensure_partitions(context.instance, vendor, connections)
        yield from requests

    return reconcile_schedule
