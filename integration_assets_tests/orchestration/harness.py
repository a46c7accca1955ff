"""A real deployment in miniature: the sandbox vendors, a connections file, a warehouse,
the Dagster definitions and an ephemeral instance. Tests drive it as a user would, by
materializing asset partitions, and compare the warehouse with the vendor's truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import AssetKey, DagsterInstance, Definitions, ExecuteInProcessResult
from sqlalchemy import select

from integration_assets.load.state import SyncStateStore
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.compiler import compile_mapping
from integration_assets.mapping.loader import load_mapping
from integration_assets.orchestration.definitions_factory import build_definitions
from integration_assets.orchestration.partitions import connection_partitions
from integration_assets.orchestration.resources import SyncSettingsResource
from integration_assets.sandbox import Sandbox
from integration_assets.schema import METADATA_COLUMNS as WAREHOUSE_METADATA_COLUMNS
from integration_assets_tests.oracle import expected_tables

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"
SHOP, KLAVIYO = "test-shop", "test-klaviyo"
CONNECTION_OF = {"shopify": SHOP, "klaviyo": KLAVIYO}
METADATA_COLUMNS = frozenset(WAREHOUSE_METADATA_COLUMNS)

CONNECTIONS_YAML = """
connections:
  - name: {shop}
    vendor: shopify
    api: rest
    base_url: {shopify_url}
    secrets: {{access_token: IA_TEST_SHOP_TOKEN}}
    entities: {{customers: hourly, orders: 15m, products: daily}}
    timeout_seconds: 1.0
  - name: {klaviyo}
    vendor: klaviyo
    base_url: {klaviyo_url}
    secrets: {{api_key: IA_TEST_KLAVIYO_KEY}}
    entities: {{profiles: 15m, events: 15m}}
    timeout_seconds: 1.0
"""


def fast_settings(**overrides: Any) -> SyncSettingsResource:
    """Small batches (several transactions per sync) and quick retries, for tests."""
    values = {
        "batch_records": 250,
        "max_attempts": 10,
        "backoff_base_seconds": 0.02,
        "backoff_cap_seconds": 0.2,
    }
    return SyncSettingsResource(**{**values, **overrides})


def write_connections(directory: Path, sandbox: Sandbox) -> Path:
    path = directory / "connections.yaml"
    path.write_text(
        CONNECTIONS_YAML.format(
            shop=SHOP,
            klaviyo=KLAVIYO,
            shopify_url=sandbox.shopify_url,
            klaviyo_url=sandbox.klaviyo_url,
        )
    )
    return path


@dataclass
class Deployment:
    sandbox: Sandbox
    warehouse_url: str
    connections_path: Path
    defs: Definitions
    instance: DagsterInstance

    def sync(
        self, vendor: str, entity: str, *, full_refresh: bool = False, raise_on_error: bool = True
    ) -> ExecuteInProcessResult:
        """Materialize `[vendor, entity]` for the vendor's test connection."""
        run_config = {
            "ops": {
                f"{vendor}__{entity}": {
                    "ops": {
                        f"{vendor}_{entity}_extract": {"config": {"full_refresh": full_refresh}}
                    }
                }
            }
        }
        return self.defs.resolve_implicit_global_asset_job_def().execute_in_process(
            run_config=run_config,
            instance=self.instance,
            partition_key=CONNECTION_OF[vendor],
            asset_selection=[AssetKey([vendor, entity])],
            raise_on_error=raise_on_error,
        )

    def materialization(self, result: ExecuteInProcessResult, vendor: str, entity: str) -> dict:
        """The materialization metadata as plain values."""
        (event,) = result.asset_materializations_for_node(f"{vendor}__{entity}")
        return {key: getattr(value, "value", value) for key, value in event.metadata.items()}

    def simulator(self, vendor: str) -> Any:
        return self.sandbox.shopify if vendor == "shopify" else self.sandbox.klaviyo

    def expected(self, vendor: str, entity: str) -> dict[str, dict[tuple, dict]]:
        """The warehouse as it should be: the vendor's current records through the mapping."""
        spec = load_mapping(vendor, entity, mappings_dir=MAPPINGS)
        return expected_tables(spec, self.simulator(vendor).records(entity))

    def actual(self, vendor: str, entity: str) -> dict[str, dict[tuple, dict]]:
        """The warehouse as it is, for the vendor's test connection, metadata columns aside."""
        mapping = compile_mapping(load_mapping(vendor, entity, mappings_dir=MAPPINGS))
        warehouse = Warehouse.from_url(self.warehouse_url)
        found: dict[str, dict[tuple, dict]] = {}
        try:
            with warehouse.engine.connect() as conn:
                for schema in mapping.tables:
                    table = build_table(schema)
                    rows = conn.execute(
                        select(table).where(table.c._connection == CONNECTION_OF[vendor])
                    ).mappings()
                    found[schema.name] = {
                        tuple(row[k] for k in schema.primary_key): {
                            k: v for k, v in row.items() if k not in METADATA_COLUMNS
                        }
                        for row in rows
                    }
        finally:
            warehouse.dispose()
        return found

    def assert_matches_vendor(self, vendor: str, entity: str) -> None:
        expected, actual = self.expected(vendor, entity), self.actual(vendor, entity)
        for table, rows in expected.items():
            assert rows, f"the sandbox has no {table} rows: the comparison would prove nothing"
            missing = rows.keys() - actual[table].keys()
            extra = actual[table].keys() - rows.keys()
            assert not missing, f"{table}: {len(missing)} rows missing, e.g. {sorted(missing)[:3]}"
            assert not extra, f"{table}: {len(extra)} unexpected rows, e.g. {sorted(extra)[:3]}"
            for key, row in rows.items():
                assert actual[table][key] == row, f"{table} {key} differs"

    def cursor(self, vendor: str, entity: str) -> str | None:
        warehouse = Warehouse.from_url(self.warehouse_url)
        try:
            state = SyncStateStore(warehouse).get(CONNECTION_OF[vendor], entity)
        finally:
            warehouse.dispose()
        return state.cursor if state else None


def deploy(
    directory: Path,
    sandbox: Sandbox,
    warehouse_url: str,
    monkeypatch: Any,
    settings: SyncSettingsResource | None = None,
) -> Deployment:
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", sandbox.shopify.access_token)
    monkeypatch.setenv("IA_TEST_KLAVIYO_KEY", sandbox.klaviyo.api_key)
    monkeypatch.delenv("REDIS_URL", raising=False)
    path = write_connections(directory, sandbox)
    defs = build_definitions(
        connections_path=path,
        mappings_dir=MAPPINGS,
        warehouse_url=warehouse_url,
        sync_settings=settings or fast_settings(),
        retry_policy=None,
    )
    instance = DagsterInstance.ephemeral()
    for vendor, connection in CONNECTION_OF.items():
        instance.add_dynamic_partitions(connection_partitions(vendor).name, [connection])
    return Deployment(sandbox, warehouse_url, path, defs, instance)
