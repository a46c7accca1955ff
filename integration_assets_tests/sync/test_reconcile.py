"""Reconciliation against the real sandbox: records the vendor deleted get `_deleted_at`,
exactly those, rows are never dropped, a record written again is cleared, and a walk that
looks like an outage is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from integration_assets.connectors.connections import get_connection
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.schema import DELETED_AT_COLUMN
from integration_assets.sync.reconcile import ReconcileError, ReconcileRefused, run_reconcile
from integration_assets.sync.steps import ExtractResult, SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import (
    KLAVIYO,
    MAPPINGS,
    REPO,
    SHOP,
)

SIZES = {"customers": 120, "orders": 90, "products": 40, "profiles": 80, "events": 50}
DELETED = {"customers": 7, "orders": 5, "products": 3, "profiles": 4}
SETTINGS = SyncSettings(batch_records=50)
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=11, sizes=SIZES, rate_limits=False) as running:
        yield running


def _target(connections: Path, connection: str, entity: str) -> SyncTarget:
    return SyncTarget(get_connection(connection, connections), entity, MAPPINGS)


def _sync(target: SyncTarget, warehouse: Warehouse, run_id: str, **kw: Any) -> ExtractResult:
    extracted = run_extract(target, warehouse, run_id=run_id, settings=SETTINGS, **kw)
    run_load(target, warehouse, extracted, run_id=run_id, settings=SETTINGS)
    return extracted


def _deleted_state(warehouse: Warehouse, target: SyncTarget, index: int = 0) -> dict[Any, bool]:
    """Key -> whether the row is marked deleted, for one table of the target's mapping."""
    schema = target.mapping.tables[index]
    table = build_table(schema, warehouse.schema)
    with warehouse.read() as conn:
        rows = conn.execute(
            select(*(table.c[k] for k in schema.primary_key), table.c[DELETED_AT_COLUMN])
        ).all()
    return {row[0]: row[-1] is not None for row in rows}


def _truth(sim: Any, entity: str, convert: type) -> set[Any]:
    return {convert(record["id"]) for record in sim.records(entity)}


@pytest.mark.parametrize(
    ("connection", "entity"),
    [(SHOP, "customers"), (SHOP, "orders"), (SHOP, "products"), (KLAVIYO, "profiles")],
)
def test_reconcile_marks_exactly_the_records_the_vendor_deleted(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse, connection: str, entity: str
) -> None:
    sim = sandbox.shopify if connection == SHOP else sandbox.klaviyo
    convert = int if connection == SHOP else str
    target = _target(connections, connection, entity)
    first = _sync(target, warehouse, "first")
    synced = set(_deleted_state(warehouse, target))
    assert len(synced) == SIZES[entity]

    sim.advance(seconds=60, updated_fraction=0.0, deleted={entity: DELETED[entity]})
    sim.reset_stats()
    result = run_reconcile(target, warehouse, settings=SETTINGS.extract)

    truth = _truth(sim, entity, convert)
    gone = synced - truth
    assert len(gone) == DELETED[entity]
    state = _deleted_state(warehouse, target)
    assert set(state) == synced  # never dropped
    assert {key for key, deleted in state.items() if deleted} == gone
    assert (result.seen, result.marked_deleted, result.restored) == (len(truth), len(gone), 0)
    # The walk asked for ids only, and got them.
    walk = [
        r
        for r in sim.stats().requests
        if r.path.rstrip("/").endswith(target.entity.path.rstrip("/"))
    ]
    assert walk and all(
        all(r.params.get(name) == value for name, value in target.entity.ids_only_params.items())
        for r in walk
    )
    if entity == "orders":  # line items follow their order
        children = target.mapping.tables[1]
        table = build_table(children, warehouse.schema)
        with warehouse.read() as conn:
            rows = conn.execute(select(table.c.order_id, table.c[DELETED_AT_COLUMN])).all()
        assert rows and all((order in gone) == (deleted is not None) for order, deleted in rows)
        assert result.children_marked_deleted == sum(1 for order, _ in rows if order in gone)

    # Idempotent: a second reconciliation changes nothing.
    again = run_reconcile(target, warehouse, settings=SETTINGS.extract)
    assert (again.marked_deleted, again.restored) == (0, 0)

    # A record written again (here: the landed pages of the first sync, replayed) is cleared.
    run_load(target, warehouse, first, run_id="replay", settings=SETTINGS)
    assert not any(_deleted_state(warehouse, target).values())
    if entity == "orders":
        assert not any(_deleted_state(warehouse, target, 1).values())

    # A row marked deleted whose id the vendor still lists is restored by reconciliation
    # (after marking the gone ones again: they were synced before this walk).
    present = next(iter(truth))
    table = build_table(target.mapping.tables[0], warehouse.schema)
    with warehouse.begin() as conn:
        conn.execute(
            update(table).where(table.c.id == present).values({DELETED_AT_COLUMN: LONG_AGO})
        )
    restored = run_reconcile(target, warehouse, settings=SETTINGS.extract)
    assert (restored.marked_deleted, restored.restored) == (len(gone), 1)
    state = _deleted_state(warehouse, target)
    assert {key for key, deleted in state.items() if deleted} == gone


def test_a_full_refresh_reconciles_after_its_load(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse
) -> None:
    target = _target(connections, SHOP, "orders")
    _sync(target, warehouse, "first")
    synced = set(_deleted_state(warehouse, target))
    report = sandbox.shopify.advance(seconds=60, deleted={"orders": 4})
    assert len(report.deleted["orders"]) == 4

    incremental = run_extract(target, warehouse, run_id="incremental", settings=SETTINGS)
    loaded = run_load(target, warehouse, incremental, run_id="incremental", settings=SETTINGS)
    assert loaded.reconciled is None
    assert not any(_deleted_state(warehouse, target).values())

    full = run_extract(target, warehouse, run_id="full", full_refresh=True, settings=SETTINGS)
    loaded = run_load(target, warehouse, full, run_id="full", settings=SETTINGS)

    gone = synced - _truth(sandbox.shopify, "orders", int)
    assert loaded.reconciled is not None and loaded.reconciled.marked_deleted == 4
    state = _deleted_state(warehouse, target)
    assert {key for key, deleted in state.items() if deleted} == gone


def test_an_empty_or_mostly_empty_listing_is_refused_and_marks_nothing(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse
) -> None:
    target = _target(connections, SHOP, "products")
    _sync(target, warehouse, "first")

    sandbox.shopify.advance(seconds=60, updated_fraction=0.0, deleted={"products": 30})
    with pytest.raises(ReconcileRefused, match=r"30 of 40 live rows.*safety threshold of 50%"):
        run_reconcile(target, warehouse, settings=SETTINGS.extract)
    assert not any(_deleted_state(warehouse, target).values())

    sandbox.shopify.advance(seconds=60, updated_fraction=0.0, deleted={"products": 10})
    assert sandbox.shopify.count("products") == 0
    with pytest.raises(ReconcileRefused, match=r"listed no records at all.*40 live rows"):
        run_reconcile(target, warehouse, settings=SETTINGS.extract, max_deleted_fraction=1.0)
    assert not any(_deleted_state(warehouse, target).values())


def test_a_mass_deletion_is_applied_when_the_threshold_allows_it(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse
) -> None:
    target = _target(connections, SHOP, "products")
    _sync(target, warehouse, "first")
    sandbox.shopify.advance(seconds=60, updated_fraction=0.0, deleted={"products": 30})

    result = run_reconcile(target, warehouse, settings=SETTINGS.extract, max_deleted_fraction=1.0)

    assert result.marked_deleted == 30
    assert sum(_deleted_state(warehouse, target).values()) == 30


def test_append_only_events_are_not_reconciled(connections: Path, warehouse: Warehouse) -> None:
    with pytest.raises(ReconcileError, match="klaviyo/events is not reconciled: it is append-only"):
        run_reconcile(_target(connections, KLAVIYO, "events"), warehouse)


def test_the_cli_reconciles_and_prints_the_counts(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse, warehouse_url: str, tmp_path: Path
) -> None:
    target = _target(connections, SHOP, "customers")
    _sync(target, warehouse, "first")
    sandbox.shopify.advance(seconds=60, updated_fraction=0.0, deleted={"customers": 6})
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WAREHOUSE_URL": warehouse_url,
        "INTEGRATION_CONNECTIONS": str(connections),
        "INTEGRATION_MAPPINGS": str(MAPPINGS),
        "IA_TEST_SHOP_TOKEN": sandbox.shopify.access_token,
    }
    command = [sys.executable, "-m", "integration_assets.cli", "reconcile", "shopify/customers"]

    result = subprocess.run(
        [*command, "--connection", SHOP], cwd=REPO, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert "✔ shopify/customers @ test-shop: 114 ids seen" in result.stdout
    assert "6 marked deleted, 0 restored" in result.stdout
    assert sum(_deleted_state(warehouse, target).values()) == 6


def test_the_cli_says_why_a_reconcile_failed_without_a_traceback_or_the_token(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse, warehouse_url: str
) -> None:
    target = _target(connections, SHOP, "customers")
    _sync(target, warehouse, "first")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WAREHOUSE_URL": warehouse_url,
        "INTEGRATION_CONNECTIONS": str(connections),
        "INTEGRATION_MAPPINGS": str(MAPPINGS),
        "IA_TEST_SHOP_TOKEN": "shpat_revoked_token",
    }
    command = [sys.executable, "-m", "integration_assets.cli", "reconcile", "shopify/customers"]

    result = subprocess.run(
        [*command, "--connection", SHOP], cwd=REPO, env=env, capture_output=True, text=True
    )

    assert result.returncode == 1
    assert "✘ shopify/customers @ test-shop: AuthenticationError" in result.stdout
    assert "IA_TEST_SHOP_TOKEN" in result.stdout  # names the variable to fix
    assert "Traceback" not in result.stderr
    assert "shpat_revoked_token" not in result.stdout + result.stderr
    assert sum(_deleted_state(warehouse, target).values()) == 0  # nothing marked
