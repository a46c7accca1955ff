"""Landing keeps every raw page, so a load can be retried, and a mapping fix replayed,
without calling the vendor again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from integration_assets.connectors.connections import get_connection
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.sync.steps import run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import MAPPINGS, SHOP, deploy


@pytest.fixture
def sandbox() -> Sandbox:
    sizes = {"customers": 300, "orders": 120}
    with run_sandbox(seed=3, sizes=sizes, rate_limits=False) as running:
        yield running


def copy_mappings_with_override(
    directory: Path, override: dict | None, entity: str = "customers"
) -> Path:
    """The shipped mappings plus, optionally, a per-connection override of `entity`."""
    mappings = directory / "mappings"
    shutil.copytree(MAPPINGS, mappings, ignore=shutil.ignore_patterns("overrides"))
    if override is not None:
        path = mappings / "overrides" / SHOP / f"{entity}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(override))
    return mappings


def test_a_mapping_fix_is_replayed_from_landing_without_calling_the_vendor(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    connection = get_connection(SHOP, deployment.connections_path)
    wrong_note = {"mappings": [{"target": "note", "source": "tags", "type": "string"}]}
    broken = SyncTarget(
        connection, "customers", copy_mappings_with_override(tmp_path / "a", wrong_note)
    )
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        extracted = run_extract(broken, warehouse, run_id="run-1")
        run_load(broken, warehouse, extracted, run_id="run-1")
        rows = deployment.actual("shopify", "customers")["shopify_customers"]
        assert all(row["note"] == row["tags"] for row in rows.values())  # the bug, visible

        sandbox.shopify.reset_stats()
        fixed = SyncTarget(
            connection, "customers", copy_mappings_with_override(tmp_path / "b", None)
        )
        replayed = run_load(fixed, warehouse, extracted, run_id="run-1-replay")
    finally:
        warehouse.dispose()

    assert sandbox.shopify.stats().total == 0
    changed = sum(1 for c in sandbox.shopify.records("customers") if c["note"] != c["tags"])
    assert replayed.upsert["shopify_customers"].updated == changed > 0
    deployment.assert_matches_vendor("shopify", "customers")


def test_a_child_mapping_fix_replayed_from_landing_rewrites_the_children(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only line items change (same orders, same timestamps): the order's hash covers its
    line items, so the replay rewrites them."""
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    connection = get_connection(SHOP, deployment.connections_path)
    wrong_sku = {
        "mappings": [
            {"source": "line_items", "nested": {"mappings": [{"target": "sku", "source": "title"}]}}
        ]
    }
    broken = SyncTarget(
        connection, "orders", copy_mappings_with_override(tmp_path / "a", wrong_sku, "orders")
    )
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        extracted = run_extract(broken, warehouse, run_id="run-1")
        run_load(broken, warehouse, extracted, run_id="run-1")
        lines = deployment.actual("shopify", "orders")["shopify_order_line_items"]
        assert all(row["sku"] == row["title"] for row in lines.values())  # the bug, visible

        fixed = SyncTarget(
            connection, "orders", copy_mappings_with_override(tmp_path / "b", None, "orders")
        )
        replayed = run_load(fixed, warehouse, extracted, run_id="run-1-replay")
    finally:
        warehouse.dispose()

    assert replayed.upsert["shopify_orders"].updated > 0
    deployment.assert_matches_vendor("shopify", "orders")
