"""Connectors x mappings x connections → one `Definitions`, and nothing more."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Definitions, EnvVar, RetryPolicy

from integration_assets.connectors import CONNECTORS
from integration_assets.connectors.connections import Connection, load_connections
from integration_assets.mapping.compiler import CompiledMapping, compile_mapping
from integration_assets.mapping.errors import MappingError
from integration_assets.mapping.loader import load_mapping
from integration_assets.mapping.union import load_table_union
from integration_assets.orchestration.alerts import build_alert_sensors
from integration_assets.orchestration.assets import DEFAULT_RETRY_POLICY, build_sync_asset
from integration_assets.orchestration.partitions import build_partitions_sensor
from integration_assets.orchestration.quality_alerts import build_quality_alert_sensors
from integration_assets.orchestration.reconcile import (
    build_reconcile_job,
    build_reconcile_schedule,
)
from integration_assets.orchestration.resources import (
    ConnectionsResource,
    SyncSettingsResource,
    WarehouseResource,
)
from integration_assets.orchestration.schedules import build_sync_schedule, sync_job
from integration_assets.orchestration.timeliness import (
    build_timeliness_check,
    build_timeliness_sensor,
)
from integration_assets.orchestration.webhook_sensor import build_webhook_sensor


def _warehouse_kind(url: str | None) -> str:
    """The UI kind of the warehouse; an unset URL means the embedded SQLite default."""
    return "postgres" if (url or "").startswith(("postgres://", "postgresql")) else "sqlite"


def _asset_mapping(vendor: str, entity: str, mappings: Path | None) -> CompiledMapping:
    """The vendor mapping over the warehouse tables every connection shares (the union of the
    overrides), so the asset's column schema shows every column. A broken override must not
    take the whole code location down: then the vendor's own tables are shown, and the syncs
    of that entity fail with the override's error."""
    spec = load_mapping(vendor, entity, mappings_dir=mappings)
    try:
        union = load_table_union(vendor, entity, mappings)
    except MappingError:
        union = None
    return compile_mapping(spec, union)


def build_definitions(
    *,
    connections_path: str | Path | None = None,
    mappings_dir: str | Path | None = None,
    warehouse_url: str | None = None,
    sync_settings: SyncSettingsResource | None = None,
    retry_policy: RetryPolicy | None = DEFAULT_RETRY_POLICY,
) -> Definitions:
    """Every (vendor, entity) with a mapping becomes an asset; connections become partitions;
    their cadences become each vendor's sync schedule, beside a daily reconcile job and a
    timeliness check per asset.

    Unset arguments fall back to the environment: `$WAREHOUSE_URL` (read through `EnvVar`
    so the password never enters run config), `$INTEGRATION_CONNECTIONS`,
    `$INTEGRATION_MAPPINGS`.
    """
    mappings = Path(mappings_dir) if mappings_dir else None
    connections = ConnectionsResource(
        path=str(connections_path) if connections_path else None,
        mappings_dir=str(mappings) if mappings else None,
    )
    if warehouse_url is not None:
        warehouse = WarehouseResource(url=warehouse_url)
    elif os.environ.get("WAREHOUSE_URL"):
        warehouse = WarehouseResource(url=EnvVar("WAREHOUSE_URL"))
    else:
        warehouse = WarehouseResource()

    kind = _warehouse_kind(warehouse_url or os.environ.get("WAREHOUSE_URL"))
    assets = [
        build_sync_asset(
            connector,
            entity,
            _asset_mapping(connector.vendor, entity.name, mappings),
            retry_policy=retry_policy,
            kinds={connector.vendor, kind},
        )
        for connector in CONNECTORS.values()
        for entity in connector.entities
    ]

    def load() -> list[Connection]:
        return load_connections(connections.path)

    vendors = list(CONNECTORS.values())
    sync_jobs = {connector.vendor: sync_job(connector) for connector in vendors}
    reconcile_jobs = {
        connector.vendor: build_reconcile_job(connector, retry_policy) for connector in vendors
    }
    every_asset = [(c.vendor, entity.name) for c in vendors for entity in c.entities]
    return Definitions(
        assets=assets,
        asset_checks=[build_timeliness_check(vendor, entity) for vendor, entity in every_asset],
        jobs=[*sync_jobs.values(), *reconcile_jobs.values()],
        schedules=[
            *(build_sync_schedule(c, sync_jobs[c.vendor], load) for c in vendors),
            *(build_reconcile_schedule(c, reconcile_jobs[c.vendor], load) for c in vendors),
        ],
        sensors=[
            build_partitions_sensor(sorted(CONNECTORS), load),
            build_timeliness_sensor(every_asset, load),
            *build_alert_sensors(),
            *build_quality_alert_sensors(every_asset, load),
            build_webhook_sensor(list(sync_jobs.values()), load),
        ],
        resources={
            "warehouse": warehouse,
            "connections": connections,
            "sync_settings": sync_settings or SyncSettingsResource(),
        },
    )
