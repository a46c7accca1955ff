"""Quarantine that can be worked off: drifted records are quarantined once however often they
are re-read, `quarantine replay` loads them after a mapping fix, stale versions never
overwrite, and a bug in mapping code fails the run instead of quarantining everything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from integration_assets import cli
from integration_assets.connectors.connections import get_connection
from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.state import STATUS_FAILED, SyncStateStore
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.converters import CONVERTERS
from integration_assets.mapping.errors import MappingBugError
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.schema import ColumnType
from integration_assets.sync.quarantine import list_quarantine, replay_quarantine
from integration_assets.sync.steps import SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import MAPPINGS, SHOP, deploy
from integration_assets_tests.sync.landed import land, raw_customer, shop_target
from integration_assets_tests.sync.test_replay_from_landing import copy_mappings_with_override

SETTINGS = SyncSettings(batch_records=100)
# A mistake in an override: orders_count read from total_spent ("12.50" is no integer). Its
# threshold 0 lets such a sync publish what passes (the gate's own stories are elsewhere).
WRONG_SOURCE = {
    "quality": {"threshold": 0},
    "mappings": [{"target": "orders_count", "source": "total_spent"}],
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes={"customers": 200}, rate_limits=False) as running:
        yield running


def quarantine_rows(warehouse: Warehouse) -> list[dict[str, Any]]:
    table = bookkeeping(warehouse.dialect).quarantine
    with warehouse.read() as conn:
        return [dict(row) for row in conn.execute(select(table).order_by(table.c.id)).mappings()]


def sync(target: SyncTarget, warehouse: Warehouse, run_id: str, **kwargs: Any) -> Any:
    extracted = run_extract(target, warehouse, run_id=run_id, settings=SETTINGS, **kwargs)
    return extracted, run_load(target, warehouse, extracted, run_id=run_id, settings=SETTINGS)


def test_drifted_records_are_quarantined_once_however_often_they_are_read(
    tmp_path: Path,
    sandbox: Sandbox,
    warehouse_url: str,
    warehouse: Warehouse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    target = SyncTarget(get_connection(SHOP, deployment.connections_path), "customers", MAPPINGS)
    sandbox.shopify.set_faults(type_drift=0.03)  # under the 5% the quality gate allows

    extracted, first = sync(target, warehouse, "run-1")
    drifted = first.upsert.quarantined
    assert 0 < drifted < sandbox.shopify.count("customers")
    run_load(target, warehouse, extracted, run_id="run-1", settings=SETTINGS)  # a retry
    sync(target, warehouse, "run-2")  # incremental: re-reads the lookback window
    sync(target, warehouse, "run-3", full_refresh=True)  # re-reads every record

    rows = quarantine_rows(warehouse)
    assert len(rows) == drifted == len({row["record_key"] for row in rows})
    assert all(row["resolved_at"] is None for row in rows)
    assert all(row["seen_count"] >= 3 for row in rows)  # run-1, its retry, run-3 (and run-2)
    assert all("verified_email" in row["reasons"][0] for row in rows)

    sandbox.shopify.clear_faults()
    sync(target, warehouse, "run-4", full_refresh=True)  # good versions supersede them
    assert {row["resolution"] for row in quarantine_rows(warehouse)} == {"superseded"}
    assert list_quarantine(warehouse) == []
    deployment.assert_matches_vendor("shopify", "customers")


def test_quarantine_replay_loads_records_a_fixed_mapping_accepts(
    tmp_path: Path,
    sandbox: Sandbox,
    warehouse_url: str,
    warehouse: Warehouse,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    connection = get_connection(SHOP, deployment.connections_path)
    broken = copy_mappings_with_override(tmp_path / "broken", WRONG_SOURCE)
    extracted, first = sync(SyncTarget(connection, "customers", broken), warehouse, "run-1")
    rejected = first.upsert.quarantined
    assert rejected > 0
    run_load(SyncTarget(connection, "customers", broken), warehouse, extracted, run_id="run-1")

    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("INTEGRATION_CONNECTIONS", str(deployment.connections_path))
    monkeypatch.setenv("INTEGRATION_MAPPINGS", str(broken))
    assert cli.main(["quarantine", "list", "--connection", SHOP, "--limit", "3"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 4 and "record key" in listed[0]
    assert all(
        SHOP in line and "customers" in line and "orders_count" in line for line in listed[1:]
    )
    assert "@" not in "".join(listed)  # reasons and keys never show an email address

    assert cli.main(["quarantine", "replay", "--entity", "customers"]) == 0  # still broken
    assert f"0 replayed, {rejected} still failing, 0 stale" in capsys.readouterr().out

    fixed = copy_mappings_with_override(tmp_path / "fixed", None)
    monkeypatch.setenv("INTEGRATION_MAPPINGS", str(fixed))
    assert cli.main(["quarantine", "replay", "--connection", SHOP]) == 0
    assert f"{rejected} replayed, 0 still failing, 0 stale" in capsys.readouterr().out

    rows = quarantine_rows(warehouse)
    assert len(rows) == rejected and {row["resolution"] for row in rows} == {"replayed"}
    assert cli.main(["quarantine", "list"]) == 0
    assert "no open quarantined records" in capsys.readouterr().out
    deployment.assert_matches_vendor("shopify", "customers")


def test_a_quarantined_version_older_than_the_stored_row_is_resolved_as_stale(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    good = shop_target()
    mappings = copy_mappings_with_override(tmp_path / "broken", None)
    override = mappings / "overrides" / "shop" / "customers.json"
    override.parent.mkdir(parents=True)
    override.write_text(json.dumps(WRONG_SOURCE))
    broken = shop_target(mappings=mappings)
    newer = raw_customer(1, "2024-05-01T12:00:00Z", total_spent="20.00", note="newer")
    run_load(good, warehouse, land(warehouse, "new", [newer]), run_id="new")
    older = [
        raw_customer(1, "2024-05-01T10:00:00Z", total_spent="10.00", note="older"),
        raw_customer(2, "2024-05-01T10:00:00Z", total_spent="5.00", note="only"),
    ]
    # An old landing run replayed with the broken mapping: both rejected, nothing superseded.
    loaded = run_load(broken, warehouse, land(warehouse, "old", older), run_id="old")
    assert loaded.upsert.quarantined == 2

    result = replay_quarantine(good, warehouse)
    assert (result.replayed, result.still_failing, result.stale) == (1, 0, 1)
    resolutions = {row["record_key"]: row["resolution"] for row in quarantine_rows(warehouse)}
    assert resolutions == {"1": "stale", "2": "replayed"}
    table = build_table(good.mapping.table)
    with warehouse.read() as conn:
        notes = dict(conn.execute(select(table.c.id, table.c.note)).all())
    assert notes == {1: "newer", 2: "only"}


def test_a_bug_in_a_converter_fails_the_run_and_quarantines_nothing(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    def buggy(value: Any) -> Any:
        return {"true": True}[value]  # KeyError for "false": a bug, not bad data

    monkeypatch.setitem(CONVERTERS, ColumnType.BOOLEAN, buggy)
    target = shop_target()
    records = [raw_customer(n, "2024-05-01T10:00:00Z", verified_email="false") for n in (1, 2)]
    with pytest.raises(MappingBugError) as raised:
        run_load(target, warehouse, land(warehouse, "buggy", records), run_id="buggy")
    assert "shopify_customers.verified_email (source verified_email)" in str(raised.value)
    assert isinstance(raised.value.__cause__, KeyError)
    assert quarantine_rows(warehouse) == []
    state = SyncStateStore(warehouse).get("shop", "customers")
    assert state is not None and state.last_status == STATUS_FAILED
