"""Webhooks end to end in miniature: the sandbox vendors sending signed deliveries to a real
console on loopback, which stores them in the warehouse's inbox; the Dagster definitions on
a persistent instance; the webhook sensor evaluated as the daemon would, and its run
requests executed in process with their run config, subset and tags."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import (
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    RunRequest,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.storage.tags import PARTITION_NAME_TAG, RUN_KEY_TAG
from sqlalchemy import select

from integration_assets.connectors.connections import load_connections
from integration_assets.console import build_app
from integration_assets.console.server import ConsoleServer
from integration_assets.load.inbox import inbox_depth
from integration_assets.load.state import SyncStateStore
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.compiler import compile_mapping
from integration_assets.mapping.loader import load_mapping
from integration_assets.orchestration.definitions_factory import build_definitions
from integration_assets.orchestration.partitions import connection_partitions
from integration_assets.orchestration.quality_checks import sync_check_keys
from integration_assets.orchestration.resources import SyncSettingsResource
from integration_assets.orchestration.webhook_sensor import SENSOR_NAME
from integration_assets.sandbox import Sandbox
from integration_assets.sandbox.webhooks import Subscription
from integration_assets_tests.oracle import expected_tables
from integration_assets_tests.orchestration.harness import MAPPINGS, fast_settings

SHOP, KLAVIYO = "test-shop", "test-klaviyo"
SHOP_SECRET = "shpss_sandbox_app_secret"
KLAVIYO_SECRET = "klaviyo-sandbox-webhook-secret"
ENVIRON = {
    "IA_TEST_SHOP_WEBHOOK_SECRET": SHOP_SECRET,
    "IA_TEST_KLAVIYO_WEBHOOK_SECRET": KLAVIYO_SECRET,
}
# The shop polls with the GraphQL Admin API (the default); its webhooks are REST resources.
CONNECTIONS_YAML = """
connections:
  - name: {shop}
    vendor: shopify
    base_url: {shopify_url}
    secrets:
      access_token: IA_TEST_SHOP_TOKEN
      webhook_secret: IA_TEST_SHOP_WEBHOOK_SECRET
    entities: {{customers: realtime, orders: realtime, products: realtime}}
    timeout_seconds: 2.0
  - name: {klaviyo}
    vendor: klaviyo
    base_url: {klaviyo_url}
    secrets:
      api_key: IA_TEST_KLAVIYO_KEY
      webhook_secret: IA_TEST_KLAVIYO_WEBHOOK_SECRET
    entities: {{profiles: 15m, events: realtime}}
    timeout_seconds: 2.0
"""
DATA_SKIP = frozenset({"_synced_at", "_run_id"})
"""Metadata that says when and by which run a row was written, not what it holds."""


@dataclass
class Live:
    sandbox: Sandbox
    warehouse: Warehouse
    warehouse_url: str
    console: ConsoleServer
    defs: Definitions
    instance: DagsterInstance
    cursor: str | None = None
    launched: list[str] = field(default_factory=list)

    # --- the vendor side -------------------------------------------------------------------

    def subscribe(self) -> None:
        """Subscribe the console to every Shopify change topic and every Klaviyo event."""
        shop_url = f"{self.console.url}/webhooks/shopify/{SHOP}"
        self.sandbox.shopify.set_webhooks(
            [
                Subscription(topic, shop_url, SHOP_SECRET)
                for topic in ("customers/*", "orders/*", "products/*", "shop/redact")
            ]
        )
        self.sandbox.klaviyo.set_webhooks(
            [
                Subscription(
                    "event:*", f"{self.console.url}/webhooks/klaviyo/{KLAVIYO}", KLAVIYO_SECRET
                )
            ]
        )

    def delivered(self) -> None:
        """Wait until every delivery the sandboxes sent was answered, and check all were 200."""
        for simulator in (self.sandbox.shopify, self.sandbox.klaviyo):
            sender = simulator.webhook_sender
            if sender is None:
                continue
            assert sender.wait_idle(timeout=120), "the sandbox is still sending"
            refused = [d.attempts for d in sender.deliveries if not d.delivered]
            assert not refused, f"deliveries not accepted: {refused[:3]}"

    # --- the Dagster side ------------------------------------------------------------------

    def evaluate(self) -> list[RunRequest]:
        """One sensor tick from the saved cursor; the cursor is kept as the daemon keeps it."""
        sensor = self.defs.resolve_sensor_def(SENSOR_NAME)
        with build_sensor_context(
            instance=self.instance,
            instance_ref=self.instance.get_ref(),  # as the daemon: partitions resolve from it
            cursor=self.cursor,
            repository_def=self.defs.get_repository_def(),
            resources={name: self.defs.resources[name] for name in ("warehouse", "sync_settings")},
        ) as context:
            result = sensor.evaluate_tick(context)
        self.cursor = result.cursor
        return list(result.run_requests or [])

    def launch(self, request: RunRequest) -> ExecuteInProcessResult:
        """Execute a request as the daemon would: its job subset, partition, config and tags."""
        assert request.run_key not in self.launched, "the same run key launched twice"
        self.launched.append(request.run_key or "")
        job = self.defs.resolve_job_def(request.job_name or "")
        if request.asset_selection is not None:
            job = job.get_subset(
                asset_selection=set(request.asset_selection),
                asset_check_selection=set(request.asset_check_keys or []),
            )
        tags = {k: v for k, v in request.tags.items() if k != PARTITION_NAME_TAG}
        return job.execute_in_process(
            run_config=request.run_config,
            instance=self.instance,
            partition_key=request.partition_key,
            tags={**tags, RUN_KEY_TAG: request.run_key or ""},
            raise_on_error=False,
        )

    def run_pending(self) -> list[ExecuteInProcessResult]:
        """Evaluate once and run every request."""
        return [self.launch(request) for request in self.evaluate()]

    def poll(self, vendor: str, entity: str) -> ExecuteInProcessResult:
        """A scheduled-style poll of one entity (no webhook config)."""
        connection = SHOP if vendor == "shopify" else KLAVIYO
        job = self.defs.resolve_job_def(f"{vendor}_sync").get_subset(
            asset_selection={_key(vendor, entity)},
            asset_check_selection=set(sync_check_keys([_key(vendor, entity)])),
        )
        result = job.execute_in_process(
            instance=self.instance, partition_key=connection, raise_on_error=False
        )
        assert result.success, "the poll failed"
        return result

    # --- the warehouse ---------------------------------------------------------------------

    def rows(self, vendor: str, entity: str, table_index: int = 0) -> dict[Any, dict[str, Any]]:
        """Rows of one table of the entity for the test connection, by key, with the
        metadata that describes content (`_source_updated_at`, `_row_hash`, `_deleted_at`)."""
        mapping = compile_mapping(load_mapping(vendor, entity, mappings_dir=MAPPINGS, api="rest"))
        schema = mapping.tables[table_index]
        table = build_table(schema, self.warehouse.schema)
        connection = SHOP if vendor == "shopify" else KLAVIYO
        with self.warehouse.engine.connect() as conn:
            if not self.warehouse.engine.dialect.has_table(conn, table.name, schema=table.schema):
                return {}
            found = conn.execute(select(table).where(table.c._connection == connection))
            return {
                tuple(row[k] for k in schema.primary_key): {
                    k: v for k, v in row.items() if k not in DATA_SKIP
                }
                for row in found.mappings()
            }

    def expected(self, vendor: str, entity: str, records: list[dict]) -> dict[tuple, dict]:
        """The rows `records` (as the REST API serves them) map to, by key."""
        spec = load_mapping(vendor, entity, mappings_dir=MAPPINGS, api="rest")
        return expected_tables(spec, records)[spec.table]

    def pending(self) -> dict[tuple[str, str | None], int]:
        return inbox_depth(self.warehouse)

    def cursor_of(self, vendor: str, entity: str) -> str | None:
        connection = SHOP if vendor == "shopify" else KLAVIYO
        state = SyncStateStore(self.warehouse).get(connection, entity)
        return state.cursor if state else None


def _key(vendor: str, entity: str) -> Any:
    from dagster import AssetKey

    return AssetKey([vendor, entity])


@contextmanager
def live_webhooks(
    directory: Path,
    sandbox: Sandbox,
    warehouse_url: str,
    monkeypatch: Any,
    settings: SyncSettingsResource | None = None,
) -> Iterator[Live]:
    """The console, the definitions and a persistent instance around `sandbox`."""
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", sandbox.shopify.access_token)
    monkeypatch.setenv("IA_TEST_KLAVIYO_KEY", sandbox.klaviyo.api_key)
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    path = directory / "connections.yaml"
    path.write_text(
        CONNECTIONS_YAML.format(
            shop=SHOP,
            klaviyo=KLAVIYO,
            shopify_url=sandbox.shopify_url,
            klaviyo_url=sandbox.klaviyo_url,
        )
    )
    defs = build_definitions(
        connections_path=path,
        mappings_dir=MAPPINGS,
        warehouse_url=warehouse_url,
        sync_settings=settings or fast_settings(),
        retry_policy=None,
    )
    warehouse = Warehouse.from_url(warehouse_url)
    app = build_app(warehouse, load_connections(path), environ=ENVIRON)
    try:
        with ConsoleServer(app) as console, instance_for_test() as instance:
            for vendor, connection in (("shopify", SHOP), ("klaviyo", KLAVIYO)):
                name = connection_partitions(vendor).name
                assert name is not None
                instance.add_dynamic_partitions(name, [connection])
            live = Live(sandbox, warehouse, warehouse_url, console, defs, instance)
            live.subscribe()
            try:
                yield live
            finally:
                sandbox.shopify.set_webhooks([])
                sandbox.klaviyo.set_webhooks([])
    finally:
        warehouse.dispose()
