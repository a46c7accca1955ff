"""The quality gate as a user meets it in Dagster: real materializations of the real assets
against the sandbox, on SQLite and Postgres.

A clean sync records its assessment (the quality history and passing checks); a sync whose
records broke their rules beyond the entity's threshold publishes no row, fails its blocking
`quality` check with the top reasons, and the orders that depend on it do not run.
"""

from __future__ import annotations

from dagster import AssetCheckKey, AssetKey
from sqlalchemy import func, select

from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.compiler import compile_mapping
from integration_assets.mapping.loader import load_mapping
from integration_assets.orchestration.failures import run_failure_message
from integration_assets.quality.metrics import SCOPE_SYNC, quality_tables
from integration_assets_tests.orchestration.harness import SHOP, Deployment

CUSTOMERS = AssetKey(["shopify", "customers"])
ORDERS = AssetKey(["shopify", "orders"])


def _sync_rows(warehouse_url: str) -> list[dict]:
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        metrics = quality_tables(warehouse.dialect).metrics
        with warehouse.read() as conn:
            rows = conn.execute(
                select(metrics).where(metrics.c.scope == SCOPE_SYNC).order_by(metrics.c.id)
            ).mappings()
            return [dict(row) for row in rows]
    finally:
        warehouse.dispose()


def _count(warehouse_url: str, table_name: str) -> int:
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        if table_name == "quarantine":
            table = bookkeeping(warehouse.dialect).quarantine
        else:
            mapping = compile_mapping(load_mapping("shopify", table_name))
            table = build_table(mapping.table)
        with warehouse.read() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        warehouse.dispose()


def test_a_clean_sync_records_its_scores_and_passes_every_check(deployment: Deployment) -> None:
    result = deployment.sync("shopify", "customers")

    (row,) = _sync_rows(deployment.warehouse_url)
    assert (row["connection"], row["entity"], row["run_id"]) == (SHOP, "customers", result.run_id)
    assert row["gate_passed"] is True and row["pass_rate"] == 1.0
    assert row["records"] == deployment.sandbox.shopify.count("customers")
    assert row["overall"] is not None and row["overall"] > 90
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["quality"].passed and evaluations["validity"].passed
    assert evaluations["quality"].metadata["pass_rate"].value == 1.0


def test_a_sync_under_its_threshold_publishes_nothing_and_its_dependents_do_not_run(
    deployment: Deployment,
) -> None:
    deployment.sandbox.shopify.set_faults(type_drift=0.3)  # far over the 5% customers allow

    result = deployment.defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=deployment.instance,
        partition_key=SHOP,
        asset_selection=[CUSTOMERS, ORDERS],
        raise_on_error=False,
    )

    assert not result.success
    assert "QualityGateError" in run_failure_message(result)
    assert "under the threshold of 95.0%" in run_failure_message(result)
    evaluations = {e.asset_check_key: e for e in result.get_asset_check_evaluations()}
    gate = evaluations[AssetCheckKey(CUSTOMERS, "quality")]
    assert not gate.passed and gate.severity.value == "ERROR"
    assert "type on verified_email" in (gate.description or "")
    assert not result.asset_materializations_for_node("shopify__customers")
    assert "shopify__orders" not in {
        event.step_key.split(".")[0]
        for event in result.all_events
        if event.is_step_start and event.step_key
    }
    assert _count(deployment.warehouse_url, "customers") == 0  # nothing published
    assert _count(deployment.warehouse_url, "quarantine") > 0  # nothing thrown away
    (row,) = _sync_rows(deployment.warehouse_url)
    assert row["gate_passed"] is False and row["pass_rate"] < 0.95
