"""Retention: landing and quarantine stay bounded, per connection, whatever the loads do.

Landing is pruned when an extract starts (not only after a successful load, so a connection
whose loads keep failing does not grow it for ever), sparing the run in progress. Quarantine
entries older than the retention lose their raw record (open ones, with a warning; key and
reasons stay) or go entirely (resolved ones).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from integration_assets.connectors.connections import get_connection
from integration_assets.load import LandingStore, Warehouse, ensure_bookkeeping
from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.quarantine import quarantine_records
from integration_assets.load.retention import EXPIRED_RECORD, expire_quarantine
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.schema import RejectedRecord
from integration_assets.sync.steps import SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import MAPPINGS, SHOP, deploy

NOW = datetime.now(UTC)
EMAIL = "grace.hopper@example.com"


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Warehouse]:
    wh = Warehouse.from_url(warehouse_url)
    try:
        ensure_bookkeeping(wh)
        yield wh
    finally:
        wh.dispose()


def land(store: LandingStore, run: str, connection: str, entity: str, age_days: float) -> None:
    store.write_page(
        run, connection, entity, 1, None, b"{}", 0, fetched_at=NOW - timedelta(days=age_days)
    )


def quarantine(
    warehouse: Warehouse, connection: str, key: str, age_days: float, *, resolved: bool = False
) -> None:
    at = NOW - timedelta(days=age_days)
    with warehouse.begin() as conn:
        quarantine_records(
            conn,
            warehouse.dialect,
            [RejectedRecord(record={"id": key, "email": EMAIL}, record_key=key, reasons=("bad",))],
            tenant=connection,
            entity="customers",
            run_id="r0",
            at=at,
        )
        if resolved:
            table = bookkeeping(warehouse.dialect).quarantine
            conn.execute(update(table).where(table.c.record_key == key).values(resolved_at=at))


def quarantined(warehouse: Warehouse) -> dict[tuple[str, str], dict]:
    table = bookkeeping(warehouse.dialect).quarantine
    with warehouse.read() as conn:
        rows = conn.execute(select(table)).mappings()
        return {(row["connection"], row["record_key"]): dict(row) for row in rows}


def test_prune_can_be_narrowed_to_one_sync_and_spare_the_current_run(
    warehouse: Warehouse,
) -> None:
    store = LandingStore(warehouse)
    land(store, "failed", "shop", "customers", 10)
    land(store, "current", "shop", "customers", 10)
    land(store, "recent", "shop", "customers", 1)
    land(store, "failed", "shop", "orders", 10)
    land(store, "failed", "other", "customers", 10)

    deleted = store.prune(
        timedelta(days=7), connection="shop", entity="customers", keep_run="current"
    )

    assert deleted == 1
    assert store.page_count("failed", "shop", "customers") == 0
    assert store.page_count("current", "shop", "customers") == 1
    assert store.page_count("recent", "shop", "customers") == 1
    assert store.page_count("failed", "shop", "orders") == 1
    assert store.page_count("failed", "other", "customers") == 1


def test_old_quarantine_records_are_expired_never_silently_dropped(
    warehouse: Warehouse, caplog: pytest.LogCaptureFixture
) -> None:
    quarantine(warehouse, "shop", "old-open", 100)
    quarantine(warehouse, "shop", "old-resolved", 100, resolved=True)
    quarantine(warehouse, "shop", "new-open", 10)
    quarantine(warehouse, "shop", "new-resolved", 10, resolved=True)
    quarantine(warehouse, "other", "old-open", 100)

    with caplog.at_level(logging.WARNING, logger="integration_assets.load.retention"):
        result = expire_quarantine(
            warehouse, timedelta(days=90), connection="shop", entity="customers"
        )

    assert (result.deleted, result.expired) == (1, 1)
    rows = quarantined(warehouse)
    assert ("shop", "old-resolved") not in rows
    old = rows[("shop", "old-open")]
    assert old["record"] == EXPIRED_RECORD and old["reasons"] == ["bad"]
    assert old["resolved_at"] is None
    assert rows[("shop", "new-open")]["record"]["email"] == EMAIL
    assert ("shop", "new-resolved") in rows
    assert rows[("other", "old-open")]["record"]["email"] == EMAIL  # another connection's
    assert "1 open entries" in caplog.text and EMAIL not in caplog.text

    caplog.clear()
    again = expire_quarantine(warehouse, timedelta(days=90), connection="shop", entity="customers")
    assert (again.deleted, again.expired) == (0, 0) and "open entries" not in caplog.text


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=4, sizes={"customers": 30}, rate_limits=False) as running:
        yield running


def test_a_sync_prunes_landing_at_extract_and_expires_quarantine_at_load(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    target = SyncTarget(get_connection(SHOP, deployment.connections_path), "customers", MAPPINGS)
    settings = SyncSettings(
        landing_retention=timedelta(days=7), quarantine_retention=timedelta(days=30)
    )
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        ensure_bookkeeping(warehouse)
        store = LandingStore(warehouse)
        land(store, "failed-load", SHOP, "customers", 8)  # its load failed; never pruned before
        land(store, "failed-load", "other-shop", "customers", 8)
        quarantine(warehouse, SHOP, "stale", 31)

        extracted = run_extract(target, warehouse, run_id="run-2", settings=settings)

        assert store.page_count("failed-load", SHOP, "customers") == 0
        assert store.page_count("failed-load", "other-shop", "customers") == 1
        assert store.page_count("run-2", SHOP, "customers") == extracted.pages > 0
        assert quarantined(warehouse)[(SHOP, "stale")]["record"]["email"] == EMAIL

        run_load(target, warehouse, extracted, run_id="run-2", settings=settings)

        assert quarantined(warehouse)[(SHOP, "stale")]["record"] == EXPIRED_RECORD
    finally:
        warehouse.dispose()
