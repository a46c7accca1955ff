"""Dagster resources: the warehouse, the connections file and the sync settings.

They only adapt configuration to the stage objects; the work happens in `integration_assets.sync`.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from integration_assets.connectors.connections import (
    Connection,
    ConnectionsFileError,
    load_connections,
)
from integration_assets.extract import ExtractSettings
from integration_assets.load.warehouse import Warehouse
from integration_assets.retry_budget import DEFAULT_BUDGET
from integration_assets.sync.steps import SyncSettings
from integration_assets.sync.target import SyncTarget


class WarehouseResource(ConfigurableResource):
    """The warehouse database. `url` unset means `$WAREHOUSE_URL`, else the embedded SQLite.

    Bind it to `EnvVar("WAREHOUSE_URL")` in production so the password stays in the
    environment and out of run config, logs and the UI.
    """

    url: str | None = None
    _warehouse: Warehouse | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._warehouse = Warehouse.from_url(self.url)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._warehouse is not None:
            self._warehouse.dispose()
            self._warehouse = None

    def get(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse.from_url(self.url)
        return self._warehouse


class ConnectionsResource(ConfigurableResource):
    """`connections.yaml` and the mapping files; unset paths mean the defaults
    (`$INTEGRATION_CONNECTIONS` / `$INTEGRATION_MAPPINGS`, else the working directory)."""

    path: str | None = None
    mappings_dir: str | None = None

    def connections(self) -> list[Connection]:
        return load_connections(self.path)

    def target(self, connection_name: str, entity: str) -> SyncTarget:
        """The sync target for one partition, refusing entities the connection doesn't sync."""
        for connection in self.connections():
            if connection.name == connection_name:
                if entity not in connection.entities:
                    raise ConnectionsFileError(
                        f"connection {connection_name!r} does not sync {connection.vendor}/{entity}; "
                        f"add it under `entities` in the connections file"
                    )
                mappings = Path(self.mappings_dir) if self.mappings_dir else None
                return SyncTarget(connection, entity, mappings)
        raise ConnectionsFileError(f"no connection {connection_name!r} in the connections file")


class SyncSettingsResource(ConfigurableResource):
    """Batching, landing and quarantine retention and the HTTP retry budget."""

    batch_records: int = 10_000
    landing_retention_days: float = 7.0
    quarantine_retention_days: float = 90.0
    """After this, resolved quarantine entries are deleted and open ones lose their raw record."""
    inbox_retention_days: float = 7.0
    """Processed webhook inbox events are pruned after this (the webhook sensor, hourly); keep
    it longer than a vendor's retry window (Shopify: 4 hours), the inbox deduplicates on it."""
    max_attempts: int = DEFAULT_BUDGET.http_max_attempts
    backoff_base_seconds: float = DEFAULT_BUDGET.http_backoff_base_seconds
    backoff_cap_seconds: float = DEFAULT_BUDGET.http_backoff_cap_seconds
    page_size: int | None = None
    """Records per request; unset means the connector's default (the vendor's maximum)."""
    lock_timeout_seconds: float = 300.0
    """How long a load waits for another load of the same partition and entity to finish."""
    api_versions_as_of: str | None = None
    """Judge API version lifecycles as of this day (YYYY-MM-DD); unset means today (UTC)."""

    def settings(self) -> SyncSettings:
        return SyncSettings(
            batch_records=self.batch_records,
            landing_retention=timedelta(days=self.landing_retention_days),
            lock_timeout=timedelta(seconds=self.lock_timeout_seconds),
            quarantine_retention=timedelta(days=self.quarantine_retention_days),
            extract=ExtractSettings(
                max_attempts=self.max_attempts,
                backoff_base=self.backoff_base_seconds,
                backoff_cap=self.backoff_cap_seconds,
                page_size=self.page_size,
                today=date.fromisoformat(self.api_versions_as_of)
                if self.api_versions_as_of
                else None,
            ),
        )
