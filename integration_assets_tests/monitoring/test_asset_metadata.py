"""The numbers a sync publishes on its materialization are numbers, so the UI plots them."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import FloatMetadataValue, IntMetadataValue, TimestampMetadataValue

from integration_assets.load.inbox import InboxEvent, ensure_inbox, store_events
from integration_assets.load.state import SyncStateStore
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox
from integration_assets_tests.orchestration.harness import SHOP, deploy


def test_a_materialization_carries_speed_lag_and_inbox_depth_as_numbers(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        ensure_inbox(warehouse)
        store_events(
            warehouse,
            [InboxEvent(SHOP, "shopify", "customers/update", "d1", b"{}", entity="customers")],
        )
        result = deployment.sync("shopify", "customers")
        state = SyncStateStore(warehouse).get(SHOP, "customers")
    finally:
        warehouse.dispose()

    (event,) = result.asset_materializations_for_node("shopify__customers")
    metadata = event.metadata
    assert isinstance(metadata["records_per_second"], FloatMetadataValue)
    assert metadata["records_per_second"].value > 0
    assert isinstance(metadata["sync_lag_seconds"], FloatMetadataValue)
    assert metadata["sync_lag_seconds"].value >= 0
    assert isinstance(metadata["inbox_depth"], IntMetadataValue)
    assert metadata["inbox_depth"].value == 1
    assert isinstance(metadata["newest_source_at"], TimestampMetadataValue)
    assert state is not None and state.newest_source_at is not None
    assert metadata["newest_source_at"].value == state.newest_source_at.timestamp()
    assert state.last_success_run_id == result.run_id
