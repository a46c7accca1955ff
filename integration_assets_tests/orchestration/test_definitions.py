"""What `dagster dev` shows: the assets, their grouping, partitions, pools and metadata."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    AddDynamicPartitionsRequest,
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    SensorResult,
    SkipReason,
    build_sensor_context,
)

from integration_assets.orchestration.definitions_factory import build_definitions
from integration_assets.orchestration.partitions import connection_partitions
from integration_assets_tests.orchestration.harness import MAPPINGS, REPO

CONNECTIONS = REPO / "connections.yaml"
ASSETS = {
    ("shopify", "customers"): "shopify_customers",
    ("shopify", "orders"): "shopify_orders",
    ("shopify", "products"): "shopify_products",
    ("klaviyo", "profiles"): "klaviyo_profiles",
    ("klaviyo", "events"): "klaviyo_events",
}


@pytest.fixture
def defs():
    return build_definitions(
        connections_path=CONNECTIONS, mappings_dir=MAPPINGS, warehouse_url="sqlite:///:memory:"
    )


def test_the_workspace_loads_and_validates_as_dagster_dev_would(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env={"DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_vendor_entity_is_one_partitioned_asset_grouped_by_vendor(defs) -> None:
    graph = defs.resolve_asset_graph()
    for (vendor, entity), table in ASSETS.items():
        node = graph.get(AssetKey([vendor, entity]))

        assert node.group_name == vendor
        assert node.partitions_def == connection_partitions(vendor)
        assert {vendor, "sqlite"} <= set(node.kinds)
        assert node.owners == ["team:data-engineering"]
        assert node.metadata["dagster/table_name"] == table
        columns = {c.name for c in node.metadata["dagster/column_schema"].columns}
        assert {"id", "_connection", "_source_updated_at", "_row_hash"} <= columns
        assert node.description


def test_the_graph_has_an_extract_op_in_the_vendor_pool_then_a_load_op(defs) -> None:
    for vendor, entity in ASSETS:
        assets_def = defs.resolve_assets_def(AssetKey([vendor, entity]))
        ops = {node.name: node.definition for node in assets_def.node_def.nodes}

        extract, load = ops[f"{vendor}_{entity}_extract"], ops[f"{vendor}_{entity}_load"]
        assert extract.pool == vendor
        assert extract.retry_policy is not None and extract.retry_policy.max_retries == 3
        assert load.retry_policy is not None
        assert list(assets_def.node_def.dependencies)  # load consumes extract's output


def test_the_partitions_sensor_adds_each_connection_once(defs) -> None:
    sensor = defs.resolve_sensor_def("connection_partitions")
    with DagsterInstance.ephemeral() as instance:
        first = sensor(build_sensor_context(instance=instance))

        assert isinstance(first, SensorResult)
        assert sorted(first.dynamic_partitions_requests, key=lambda r: r.partitions_def_name) == [
            AddDynamicPartitionsRequest("klaviyo_connections", ["demo-klaviyo"]),
            AddDynamicPartitionsRequest("shopify_connections", ["demo-shop"]),
        ]
        for request in first.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        assert isinstance(sensor(build_sensor_context(instance=instance)), SkipReason)


def test_the_column_schema_shows_the_columns_every_connections_override_adds(
    tmp_path: Path,
) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    override = mappings / "overrides" / "some-account" / "profiles.json"
    override.parent.mkdir(parents=True)
    added = {"source": "attributes.properties.Loyalty Tier", "target": "loyalty_tier"}
    override.write_text(json.dumps({"mappings": [{**added, "type": "string"}]}))

    defs = build_definitions(
        connections_path=CONNECTIONS, mappings_dir=mappings, warehouse_url="sqlite:///:memory:"
    )

    node = defs.resolve_asset_graph().get(AssetKey(["klaviyo", "profiles"]))
    columns = {c.name for c in node.metadata["dagster/column_schema"].columns}
    assert {"loyalty_tier", "locale", "email"} <= columns


def test_orders_depend_on_customers_and_products_and_nothing_else_depends(defs) -> None:
    graph = defs.resolve_asset_graph()

    assert graph.get(AssetKey(["shopify", "orders"])).parent_keys == {
        AssetKey(["shopify", "customers"]),
        AssetKey(["shopify", "products"]),
    }
    for vendor, entity in ASSETS:
        if (vendor, entity) != ("shopify", "orders"):
            assert not graph.get(AssetKey([vendor, entity])).parent_keys


def test_each_vendor_has_a_sync_job_a_reconcile_job_and_their_schedules(defs) -> None:
    for vendor in ("shopify", "klaviyo"):
        sync = defs.resolve_job_def(f"{vendor}_sync")
        reconcile = defs.resolve_job_def(f"{vendor}_reconcile")

        assert sync.partitions_def == reconcile.partitions_def == connection_partitions(vendor)
        # Timeliness is measured by its sensor, not by a step in every sync run.
        assert {node.name for node in sync.graph.nodes} == {
            f"{vendor}__{entity}" for v, entity in ASSETS if v == vendor
        }
        assert {s.job_name for s in defs.schedules if s.name.startswith(vendor)} == {
            f"{vendor}_sync",
            f"{vendor}_reconcile",
        }
        reconcile_op = reconcile.graph.node_named(f"{vendor}_reconcile_entity").definition
        assert reconcile_op.pool == vendor
        assert defs.resolve_schedule_def(f"{vendor}_sync_schedule").cron_schedule == "*/15 * * * *"
        assert defs.resolve_schedule_def(f"{vendor}_reconcile_schedule").cron_schedule == (
            "0 4 * * *"
        )


def test_every_asset_has_a_timeliness_check(defs) -> None:
    keys = defs.resolve_asset_graph().asset_check_keys
    for vendor, entity in ASSETS:
        assert AssetCheckKey(AssetKey([vendor, entity]), "timeliness") in keys
