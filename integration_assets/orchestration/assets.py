"""The asset factory: one graph-backed asset per (vendor, entity), ops `extract` then `load`.

Each asset is partitioned by connection, so one definition serves every shop or account of a
vendor. The ops only translate between Dagster and `integration_assets.sync`.
"""

from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    Backoff,
    Config,
    DagsterInstance,
    Failure,
    In,
    Jitter,
    MetadataValue,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    RetryPolicy,
    TableColumn,
    TableSchema,
    graph_asset,
    op,
)

from integration_assets.connectors import ConnectorSpec, EntitySpec
from integration_assets.connectors.connections import Connection
from integration_assets.load.tables import row_count
from integration_assets.mapping.compiler import CompiledMapping
from integration_assets.monitoring.status import pending_inbox
from integration_assets.orchestration.failures import fail_fast_on_permanent_errors
from integration_assets.orchestration.monitoring_metadata import monitoring_metadata
from integration_assets.orchestration.partitions import connection_partitions
from integration_assets.orchestration.quality_checks import (
    check_outs,
    quality_check_specs,
    report_quality,
    webhook_check_results,
)
from integration_assets.orchestration.resources import (
    ConnectionsResource,
    SyncSettingsResource,
    WarehouseResource,
)
from integration_assets.orchestration.timeliness import measure
from integration_assets.quality.gate import QualityGateError
from integration_assets.quality.model import Assessment
from integration_assets.retry_budget import DEFAULT_BUDGET
from integration_assets.schema import METADATA
from integration_assets.schema import TableSchema as WarehouseTable
from integration_assets.sync.assess import load_and_assess
from integration_assets.sync.steps import ExtractResult, LoadResult, run_extract
from integration_assets.sync.webhooks import WebhookExtract, run_webhook_extract, run_webhook_load

DEFAULT_RETRY_POLICY = RetryPolicy(
    max_retries=DEFAULT_BUDGET.op_max_retries,
    delay=DEFAULT_BUDGET.op_retry_delay_seconds,
    backoff=Backoff.EXPONENTIAL,
    jitter=Jitter.PLUS_MINUS,
)
"""The ops' retries, from the whole retry budget in `integration_assets/retry_budget.py`."""
OWNERS = ["team:data-engineering"]


class ExtractConfig(Config):
    """Run config of the extract op."""

    full_refresh: bool = False
    """Ignore the saved cursor and read every record (the upsert guard keeps it idempotent)."""
    webhook_first_id: int = 0
    webhook_last_id: int = 0
    """Set by the webhook sensor: load the inbox events in this id range instead of polling
    the vendor (`sync/webhooks.py`); 0 means a poll."""


def column_schema(table: WarehouseTable) -> TableSchema:
    """The Dagster column schema of a warehouse table, metadata columns included."""
    columns = [
        TableColumn(c.name, c.type.value, description=c.description or None) for c in table.columns
    ]
    columns += [TableColumn(c.name, c.type.value, description=c.description) for c in METADATA]
    return TableSchema(columns=columns)


def _extract_metadata(result: ExtractResult) -> dict[str, object]:
    webhook = isinstance(result, WebhookExtract)
    return {
        "pages": result.pages,
        "records_fetched": result.records,
        "requests": result.requests,
        "retries": result.retries,
        "rate_limited_429s": result.throttled,
        "server_errors": result.server_errors,
        "timeouts": result.timeouts,
        "rate_limit_wait_seconds": result.rate_limit_wait_seconds,
        "extract_seconds": result.seconds,
        "incremental_since": result.since or ("webhook" if webhook else "full"),
        "resumed_pages": result.resumed_pages,
        "walk_started_at": result.walk_started_at or "",
        "api_version": result.api_version or "",
        "api_version_served": result.served_version or "",
        "warnings": MetadataValue.json(list(result.warnings)),
        "export_operation": result.export_operation or "",
        "source": "webhook" if webhook else "poll",
    }


def _load_metadata(
    extracted: ExtractResult, loaded: LoadResult, table: str, row_count: int
) -> dict[str, object]:
    """Record counts are the entity's own table; child tables are itemised in `rows_by_table`."""
    seconds = extracted.seconds + loaded.seconds
    records = loaded.upsert[table]
    return {
        "dagster/row_count": row_count,
        **_extract_metadata(extracted),
        "records_inserted": records.inserted,
        "records_updated": records.updated,
        "records_unchanged": records.unchanged,
        "records_quarantined": loaded.upsert.quarantined,
        "rows_by_table": MetadataValue.json(
            {name: asdict(counts) for name, counts in loaded.upsert.tables.items()}
        ),
        "load_seconds": loaded.seconds,
        "seconds": round(seconds, 3),
        "records_per_second": round(extracted.records / seconds, 1) if seconds else 0.0,
        "cursor": loaded.cursor or "",
        **(
            {"records_marked_deleted": loaded.reconciled.marked_deleted}
            if loaded.reconciled
            else {}
        ),
    }


def sync_timeliness(
    instance: DagsterInstance, vendor: str, entity: str, connection: Connection, now: datetime
) -> tuple[float | None, float | None]:
    """The timeliness dimension's inputs to the quality assessment of a sync starting `now`:
    minutes since the connection's previous successful sync of the entity (None: its first)
    and minutes its cadence allows (None: manual, never late)."""
    (measured,) = measure(instance, vendor, entity, [connection], now)
    age, allowed = measured.age, measured.allowance
    return (
        None if age is None else age.total_seconds() / 60,
        None if allowed is None else allowed.total_seconds() / 60,
    )


def upstream_inputs(connector: ConnectorSpec, entity: EntitySpec) -> dict[str, AssetIn]:
    """The entity's `depends_on` as asset dependencies that carry no data.

    They enter the extract op, so in a run that syncs both, the dependent entity is read only
    after its upstream entities are loaded; a run that syncs it alone does not wait for them.
    """
    return {
        f"after_{name}": AssetIn(key=AssetKey([connector.vendor, name]), dagster_type=Nothing)
        for name in entity.depends_on
    }


def build_sync_asset(
    connector: ConnectorSpec,
    entity: EntitySpec,
    mapping: CompiledMapping,
    *,
    retry_policy: RetryPolicy | None = DEFAULT_RETRY_POLICY,
    kinds: set[str] | None = None,
) -> AssetsDefinition:
    """The asset `[vendor, entity]` whose graph extracts into landing, then loads."""
    vendor = connector.vendor
    key = AssetKey([vendor, entity.name])
    parent_table = mapping.tables[0]

    upstream = upstream_inputs(connector, entity)

    @op(
        name=f"{vendor}_{entity.name}_extract",
        description=f"Page {connector.title} {entity.name} into landing (incremental from the cursor).",
        ins={name: In(Nothing) for name in upstream},
        pool=vendor,
        retry_policy=retry_policy,
        tags={"integration/vendor": vendor},
    )
    def extract(
        context: OpExecutionContext,
        config: ExtractConfig,
        warehouse: WarehouseResource,
        connections: ConnectionsResource,
        sync_settings: SyncSettingsResource,
    ) -> ExtractResult:
        with fail_fast_on_permanent_errors():
            target = connections.target(context.partition_key, entity.name)
            if config.webhook_last_id:
                result: ExtractResult = run_webhook_extract(
                    target,
                    warehouse.get(),
                    run_id=context.run_id,
                    first_id=config.webhook_first_id,
                    last_id=config.webhook_last_id,
                    settings=sync_settings.settings().extract,
                )
            else:
                result = run_extract(
                    target,
                    warehouse.get(),
                    run_id=context.run_id,
                    full_refresh=config.full_refresh,
                    settings=sync_settings.settings(),
                )
        for warning in result.warnings:
            context.log.warning(warning)
        context.add_output_metadata(_extract_metadata(result))
        return result

    @op(
        name=f"{vendor}_{entity.name}_load",
        description=f"Map landed {entity.name} pages and upsert them into {parent_table.name}.",
        retry_policy=retry_policy,
        out={"result": Out(Nothing), **check_outs(key)},
        tags={"integration/vendor": vendor},
    )
    def load(
        context: OpExecutionContext,
        extracted: ExtractResult,
        warehouse: WarehouseResource,
        connections: ConnectionsResource,
        sync_settings: SyncSettingsResource,
    ) -> Iterator[Output | AssetCheckResult]:
        assessment: Assessment | None = None
        try:
            with fail_fast_on_permanent_errors():
                target = connections.target(context.partition_key, entity.name)
                settings = sync_settings.settings()
                if isinstance(extracted, WebhookExtract):
                    # Gated record by record; too few records to assess (no anomaly, drift).
                    loaded = run_webhook_load(
                        target, warehouse.get(), extracted, run_id=context.run_id, settings=settings
                    )
                else:
                    since, allowed = sync_timeliness(
                        context.instance, vendor, entity.name, target.connection, datetime.now(UTC)
                    )
                    loaded, assessment = load_and_assess(
                        target,
                        warehouse.get(),
                        extracted,
                        run_id=context.run_id,
                        settings=settings,
                        minutes_since_previous_sync=since,
                        allowed_minutes=allowed,
                    )
        except QualityGateError as stopped:
            # Records the checks (the blocking one failed), then fails without retries.
            yield from report_quality(stopped.assessment)
            raise Failure(
                description=f"QualityGateError: {stopped}", allow_retries=False
            ) from stopped
        table = target.mapping.tables[0]  # the connection's override may rename it
        rows = row_count(warehouse.get(), table, target.connection.name)
        inbox = pending_inbox(warehouse.get()).get((target.connection.name, entity.name), 0)
        yield Output(
            None,
            "result",
            metadata={
                **_load_metadata(extracted, loaded, table.name, rows),
                **monitoring_metadata(loaded, inbox),
            },
        )
        if isinstance(extracted, WebhookExtract) and loaded.quality is not None:
            yield from webhook_check_results(
                vendor=vendor,
                connection=target.connection.name,
                entity=entity.name,
                run_id=context.run_id,
                report=loaded.quality,
            )
        yield from report_quality(assessment)

    @graph_asset(
        key=key,
        group_name=vendor,
        partitions_def=connection_partitions(vendor),
        description=(
            f"{entity.description or entity.name} Synced from the {connector.title} API into "
            f"`{parent_table.name}`"
            + "".join(f", `{t.name}`" for t in mapping.tables[1:])
            + ", one partition per connection."
        ),
        metadata={
            "dagster/column_schema": column_schema(parent_table),
            "dagster/table_name": parent_table.name,
            "vendor_docs": MetadataValue.url(connector.docs_url),
        },
        owners=OWNERS,
        kinds=kinds or {vendor},
        tags={"integration/vendor": vendor},
        ins=upstream,
        check_specs=quality_check_specs(key),
    )
    def sync_asset(**after):
        # The graph returns the load op's outputs by name: the asset, then each check.
        return load(extract(**after))._asdict()

    return sync_asset
