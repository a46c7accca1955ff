"""Redaction against the real sandbox: after `redact`, no table of the database (warehouse,
landing, quarantine) holds the person's email or phone; other people and the business facts
(order totals, line items, event metrics) are untouched; a second run changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import MetaData, select

from integration_assets.connectors.connections import get_connection
from integration_assets.load.quarantine import quarantine_records
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.schema import RejectedRecord
from integration_assets.sync.redact import RedactError, redact_person
from integration_assets.sync.steps import ExtractResult, SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import (
    KLAVIYO,
    MAPPINGS,
    REPO,
    SHOP,
)

SIZES = {"customers": 60, "orders": 80, "products": 5, "profiles": 40, "events": 150}
SETTINGS = SyncSettings(batch_records=40)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=13, sizes=SIZES, rate_limits=False) as running:
        yield running


LANDED: dict[tuple[str, str], ExtractResult] = {}


def _sync(connections: Path, warehouse: Warehouse, connection: str, entity: str) -> SyncTarget:
    target = SyncTarget(get_connection(connection, connections), entity, MAPPINGS)
    extracted = run_extract(target, warehouse, run_id=f"sync-{entity}", settings=SETTINGS)
    run_load(target, warehouse, extracted, run_id=f"sync-{entity}", settings=SETTINGS)
    LANDED[(connection, entity)] = extracted
    return target


def replay(target: SyncTarget, warehouse: Warehouse) -> None:
    """Load the landed pages of the target's sync again."""
    extracted = LANDED[(target.connection.name, target.entity_name)]
    run_load(target, warehouse, extracted, run_id="replay", settings=SETTINGS)


def _occurrences(warehouse: Warehouse, needle: str) -> list[str]:
    """`table.column` of every value, in every table of the database, containing `needle`."""
    found = []
    schemas: list[str | None] = [None]
    if warehouse.dialect == "postgresql":
        schemas.append("integration")
    with warehouse.read() as conn:
        for schema in schemas:
            metadata = MetaData()
            metadata.reflect(conn, schema=schema)
            for table in metadata.tables.values():
                for row in conn.execute(select(table)).mappings():
                    for column, value in row.items():
                        if isinstance(value, bytes | memoryview):
                            text = bytes(value).decode("utf-8", "replace")
                        elif isinstance(value, dict | list):
                            text = orjson.dumps(value).decode()
                        else:
                            text = str(value)
                        if needle in text:
                            found.append(f"{table.name}.{column}")
    return found


def _quarantine(warehouse: Warehouse, tenant: str, entity: str, records: list[Any]) -> None:
    rejected = [RejectedRecord(r, ("set aside by the test",), str(r["id"])) for r in records]
    with warehouse.begin() as conn:
        quarantine_records(
            conn, warehouse.dialect, rejected, tenant=tenant, entity=entity, run_id="q"
        )


def _rows(warehouse: Warehouse, target: SyncTarget, index: int = 0) -> dict[Any, dict[str, Any]]:
    table = build_table(target.mapping.tables[index], warehouse.schema)
    with warehouse.read() as conn:
        return {row["id"]: dict(row) for row in conn.execute(select(table)).mappings()}


def _mapped(row: dict[str, Any]) -> dict[str, Any]:
    """The row without the load stage's bookkeeping columns (a replay rewrites those)."""
    return {name: value for name, value in row.items() if not name.startswith("_")}


def test_redacting_a_shopify_customer_leaves_no_trace_and_keeps_order_totals(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse
) -> None:
    customers = _sync(connections, warehouse, SHOP, "customers")
    orders = _sync(connections, warehouse, SHOP, "orders")
    sim = sandbox.shopify
    all_orders = list(sim.records("orders"))
    person_id = next(o["customer"]["id"] for o in all_orders if o.get("customer"))
    person = next(c for c in sim.records("customers") if c["id"] == person_id)
    other = next(c for c in sim.records("customers") if c["id"] != person_id)
    theirs = [o for o in all_orders if (o.get("customer") or {}).get("id") == person_id]
    _quarantine(warehouse, SHOP, "customers", [person, other])
    _quarantine(warehouse, SHOP, "orders", theirs[:1])
    email, phone = person["email"], person["phone"]
    assert _occurrences(warehouse, email)  # it is there before
    before = _rows(warehouse, orders)
    lines_before = _rows(warehouse, orders, 1)

    result = redact_person(
        get_connection(SHOP, connections), warehouse, str(person_id), mappings_dir=MAPPINGS
    )

    assert _occurrences(warehouse, email) == []
    assert phone is None or _occurrences(warehouse, phone) == []
    assert result.rows_deleted == {"shopify_customers": 1}
    assert result.rows_scrubbed == {"shopify_orders": len(theirs)}
    assert result.landing_records_removed == 1
    assert result.landing_records_scrubbed == len(theirs)
    assert result.quarantine_deleted == 2
    assert _occurrences(warehouse, other["email"])  # other people untouched
    assert len(_rows(warehouse, customers)) == SIZES["customers"] - 1
    after = _rows(warehouse, orders)
    assert set(after) == set(before)
    for order in theirs:
        row = after[order["id"]]
        assert row["total_price"] == before[order["id"]]["total_price"]
        assert (row["customer_id"], row["email"], row["phone"], row["note"]) == (None,) * 4
    untouched = [o for o in before if o not in {t["id"] for t in theirs}]
    assert all(after[o] == before[o] for o in untouched)
    assert _rows(warehouse, orders, 1) == lines_before

    again = redact_person(
        get_connection(SHOP, connections), warehouse, str(person_id), mappings_dir=MAPPINGS
    )
    assert (again.rows_deleted, again.rows_scrubbed) == (
        {"shopify_customers": 0},
        {"shopify_orders": 0},
    )
    assert (again.landing_pages_rewritten, again.quarantine_deleted) == (0, 0)

    # The rewritten landing still replays, and brings nothing of the person back.
    for target in (customers, orders):
        replay(target, warehouse)
    assert _occurrences(warehouse, email) == []
    replayed = _rows(warehouse, orders)
    assert {k: _mapped(v) for k, v in replayed.items()} == {k: _mapped(v) for k, v in after.items()}


def test_redacting_a_klaviyo_profile_keeps_its_events_anonymous(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse
) -> None:
    profiles = _sync(connections, warehouse, KLAVIYO, "profiles")
    events = _sync(connections, warehouse, KLAVIYO, "events")
    sim = sandbox.klaviyo
    all_events = list(sim.records("events"))
    person_id = all_events[0]["relationships"]["profile"]["data"]["id"]
    person = next(p for p in sim.records("profiles") if p["id"] == person_id)
    theirs = [e for e in all_events if e["relationships"]["profile"]["data"]["id"] == person_id]
    _quarantine(warehouse, KLAVIYO, "profiles", [person])
    email = person["attributes"]["email"]
    before = _rows(warehouse, events)

    result = redact_person(
        get_connection(KLAVIYO, connections), warehouse, person_id, mappings_dir=MAPPINGS
    )

    assert _occurrences(warehouse, email) == []
    assert _occurrences(warehouse, person_id) == []
    assert result.rows_deleted == {"klaviyo_profiles": 1}
    assert result.rows_scrubbed == {"klaviyo_events": len(theirs)}
    assert len(_rows(warehouse, profiles)) == SIZES["profiles"] - 1
    after = _rows(warehouse, events)
    assert set(after) == set(before)
    for event in theirs:
        row, was = after[event["id"]], before[event["id"]]
        assert (row["metric_id"], row["datetime"]) == (was["metric_id"], was["datetime"])
        assert (row["profile_id"], row["event_properties"]) == (None, None)


def test_a_vendor_without_a_person_or_a_bad_id_is_refused(
    connections: Path, warehouse: Warehouse
) -> None:
    with pytest.raises(RedactError, match="not an integer id"):
        redact_person(get_connection(SHOP, connections), warehouse, "abc", mappings_dir=MAPPINGS)


def test_the_cli_redacts_and_prints_the_counts(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse, warehouse_url: str
) -> None:
    _sync(connections, warehouse, SHOP, "customers")
    person = next(iter(sandbox.shopify.records("customers")))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WAREHOUSE_URL": warehouse_url,
        "INTEGRATION_CONNECTIONS": str(connections),
        "INTEGRATION_MAPPINGS": str(MAPPINGS),
    }
    command = [sys.executable, "-m", "integration_assets.cli", "redact", "shopify"]

    result = subprocess.run(
        [*command, str(person["id"]), "--connection", SHOP],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "rows deleted (shopify_customers 1)" in result.stdout
    assert "1 records removed" in result.stdout
    assert person["email"] not in result.stdout
    assert _occurrences(warehouse, person["email"]) == []
