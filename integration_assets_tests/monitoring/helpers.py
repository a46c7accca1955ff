"""Syncing a sandbox connection for real, the way the Dagster ops do, to monitor it."""

from __future__ import annotations

from pathlib import Path

from integration_assets.connectors.connections import Connection, load_connections
from integration_assets.extract import ExtractSettings
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox
from integration_assets.sync import steps
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import MAPPINGS

SETTINGS = steps.SyncSettings(
    batch_records=100,
    extract=ExtractSettings(page_size=100, max_attempts=2, backoff_base=0.01),
)


SHOP = "test-shop"
CONNECTIONS_YAML = """
connections:
  - name: test-shop
    vendor: shopify
    base_url: {shopify_url}
    secrets: {{access_token: IA_TEST_SHOP_TOKEN}}
    entities: {{customers: hourly, orders: 15m, products: manual}}
    timeout_seconds: 1.0
"""


def write_connections(directory: Path, sandbox: Sandbox) -> Path:
    path = directory / "connections.yaml"
    path.write_text(CONNECTIONS_YAML.format(shopify_url=sandbox.shopify_url))
    return path


def connections(path: Path) -> list[Connection]:
    return load_connections(path)


def sync(connection: Connection, entity: str, warehouse: Warehouse, run_id: str) -> None:
    """Extract then load one (connection, entity); raises the step's error."""
    target = SyncTarget(connection, entity, MAPPINGS)
    extracted = steps.run_extract(target, warehouse, run_id=run_id, settings=SETTINGS)
    steps.run_load(target, warehouse, extracted, run_id=run_id, settings=SETTINGS)
