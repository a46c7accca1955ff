"""First syncs and full refreshes of a Shopify GraphQL connection through bulk operations.

Real parts end to end: the sandbox's GraphQL endpoint and bulk runner over loopback HTTP,
`run_extract` / `run_load` into a real warehouse (SQLite and Postgres). Two connections of the
same shop sync into the same tables, one through the export (`bulk: auto`, its first sync)
and one paging (`bulk: never`), and their rows must be identical, and equal to the shop.

The mappings are this module's own (GraphQL record shape, a few columns and the line items
child table): what is under test is the walk, and any mapping reads the records it lands.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from integration_assets.connectors.connections import Connection, RateLimitOverride
from integration_assets.extract import ExtractSettings
from integration_assets.extract.export_operation import ExportError
from integration_assets.extract.records import records_from_body
from integration_assets.load.landing import LandingStore
from integration_assets.load.state import SyncStateStore
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.sandbox.shopify.bulk.operations import iso
from integration_assets.schema import DELETED_AT_COLUMN, METADATA_COLUMNS
from integration_assets.sync.steps import (
    ExtractResult,
    LoadResult,
    SyncSettings,
    run_extract,
    run_load,
)
from integration_assets.sync.target import SyncTarget
from integration_assets.timestamps import parse_instant

SIZES = {"customers": 2000, "orders": 300, "products": 20}
SETTINGS = SyncSettings(
    batch_records=500,
    extract=ExtractSettings(
        export_poll_interval_seconds=0.02, backoff_base=0.0, backoff_cap=0.0, max_attempts=3
    ),
)
ROOMY = RateLimitOverride(capacity=1_000_000, refill_per_second=1_000_000.0)
TOKEN_ENV = "IA_BULK_SHOP_TOKEN"

CUSTOMERS = {
    "integration": "shopify",
    "entity": "customers",
    "table": "gql_customers",
    "primary_key": ["id"],
    "source_updated_at": "updated_at",
    "mappings": [
        {"source": "id", "target": "id", "type": "string", "required": True},
        {"source": "firstName", "target": "first_name", "type": "string"},
        {"source": "lastName", "target": "last_name", "type": "string"},
        {"source": "defaultEmailAddress.emailAddress", "target": "email", "type": "string"},
        {"source": "state", "target": "state", "type": "string"},
        {"source": "createdAt", "target": "created_at", "type": "datetime"},
        {"source": "updatedAt", "target": "updated_at", "type": "datetime", "required": True},
    ],
}
ORDERS = {
    "integration": "shopify",
    "entity": "orders",
    "table": "gql_orders",
    "primary_key": ["id"],
    "source_updated_at": "updated_at",
    "mappings": [
        {"source": "id", "target": "id", "type": "string", "required": True},
        {"source": "name", "target": "name", "type": "string"},
        {"source": "customer.id", "target": "customer_id", "type": "string"},
        {"source": "totalPriceSet.shopMoney.amount", "target": "total", "type": "decimal"},
        {"source": "updatedAt", "target": "updated_at", "type": "datetime", "required": True},
        {
            "source": "lineItems",
            "nested": {
                "table": "gql_order_line_items",
                "primary_key": ["id"],
                "parent_key": {"order_id": "id"},
                "mappings": [
                    {"source": "id", "target": "id", "type": "string", "required": True},
                    {"source": "title", "target": "title", "type": "string"},
                    {"source": "sku", "target": "sku", "type": "string"},
                    {"source": "quantity", "target": "quantity", "type": "integer"},
                ],
            },
        },
    ],
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=9, sizes=SIZES, rate_limits=False) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_shop(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each story starts from the shop's initial data, with no faults and nothing running."""
    monkeypatch.setenv(TOKEN_ENV, sandbox.shopify.access_token)
    yield
    bulk = sandbox.shopify.bulk
    bulk.resume()
    sandbox.shopify.clear_faults()
    for operation in bulk.all():
        if operation.status.value in ("CREATED", "RUNNING"):
            bulk.cancel(operation.gid)
            bulk.wait_for(operation.gid, ["CANCELED", "COMPLETED", "FAILED"])
    sandbox.shopify.reset()


@pytest.fixture(scope="module")
def mappings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mappings")
    (root / "shopify").mkdir()
    for spec in (CUSTOMERS, ORDERS):
        (root / "shopify" / f"{spec['entity']}.json").write_text(json.dumps(spec))
    return root


def _target(sandbox: Sandbox, mappings: Path, entity: str, name: str, **options: Any) -> SyncTarget:
    connection = Connection(
        name=name,
        vendor="shopify",
        api="graphql",
        base_url=sandbox.shopify_url,
        secrets={"access_token": TOKEN_ENV},
        entities={entity: "hourly"},
        rate_limit=ROOMY,
        **options,
    )
    return SyncTarget(connection, entity, mappings)


def _sync(
    target: SyncTarget, warehouse: Warehouse, run_id: str, **options: Any
) -> tuple[ExtractResult, LoadResult]:
    extracted = run_extract(target, warehouse, run_id=run_id, settings=SETTINGS, **options)
    return extracted, run_load(target, warehouse, extracted, run_id=run_id, settings=SETTINGS)


def _rows(warehouse: Warehouse, target: SyncTarget, index: int = 0) -> dict[Any, dict[str, Any]]:
    """The connection's rows of one table of the mapping, by key, without metadata columns."""
    schema = target.mapping.tables[index]
    table = build_table(schema, warehouse.schema)
    with warehouse.read() as conn:
        found = conn.execute(
            select(table).where(table.c._connection == target.connection.name)
        ).mappings()
        rows = [dict(row) for row in found]
    keys = [name for name in schema.primary_key if name != "_connection"]
    by_key = {tuple(row[name] for name in keys): row for row in rows}
    assert len(by_key) == len(rows)
    hidden = set(METADATA_COLUMNS) | {"_connection"}
    return {
        key: {name: value for name, value in row.items() if name not in hidden}
        for key, row in by_key.items()
    }


def _shop_ids(sandbox: Sandbox, entity: str, kind: str) -> set[tuple[str]]:
    return {(f"gid://shopify/{kind}/{record['id']}",) for record in sandbox.shopify.records(entity)}


def test_a_first_sync_of_customers_reads_through_bulk_and_equals_a_paginated_sync(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse
) -> None:
    bulk = _target(sandbox, mappings, "customers", "bulk-shop")
    paged = _target(sandbox, mappings, "customers", "paged-shop", bulk="never")

    exported, exported_load = _sync(bulk, warehouse, "r-bulk")
    walked, _ = _sync(paged, warehouse, "r-paged")

    assert exported.export_operation is not None and walked.export_operation is None
    assert exported.records == walked.records == SIZES["customers"]
    assert exported_load.upsert.quarantined == 0
    rows = _rows(warehouse, bulk)
    assert rows == _rows(warehouse, paged)
    assert {
        key[0]: (row["first_name"], row["last_name"], row["email"]) for key, row in rows.items()
    } == {
        f"gid://shopify/Customer/{c['id']}": (c["first_name"], c["last_name"], c["email"])
        for c in sandbox.shopify.records("customers")
    }


def test_a_full_refresh_of_orders_brings_every_line_item_like_a_paginated_sync(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse
) -> None:
    bulk = _target(sandbox, mappings, "orders", "bulk-shop")
    paged = _target(sandbox, mappings, "orders", "paged-shop", bulk="never")
    _sync(bulk, warehouse, "first")  # a first sync, through bulk too
    sandbox.shopify.advance(seconds=3600, updated_fraction=0.2)

    refreshed, _ = _sync(bulk, warehouse, "refresh", full_refresh=True)
    _sync(paged, warehouse, "paged", full_refresh=True)

    assert refreshed.export_operation is not None and refreshed.full_refresh
    assert _rows(warehouse, bulk) == _rows(warehouse, paged)
    line_items = _rows(warehouse, bulk, index=1)
    assert line_items == _rows(warehouse, paged, index=1)
    truth = {order["id"]: order for order in sandbox.shopify.records("orders")}
    assert len(line_items) == sum(len(order["line_items"]) for order in truth.values())
    orders = {
        key[0]: (row["name"], Decimal(row["total"])) for key, row in _rows(warehouse, bulk).items()
    }
    assert orders == {
        f"gid://shopify/Order/{id}": (order["name"], Decimal(order["total_price"]))
        for id, order in truth.items()
    }
    quantities = {key[0]: row["quantity"] for key, row in line_items.items()}
    assert quantities == {
        f"gid://shopify/LineItem/{item['id']}": item["quantity"]
        for order in truth.values()
        for item in order["line_items"]
    }


def test_the_cursor_stops_where_the_vendor_created_the_export_and_the_next_sync_pages(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse
) -> None:
    target = _target(sandbox, mappings, "customers", "bulk-shop")
    # Customers changed in the last half minute: newer than the cap the export's start sets.
    sandbox.shopify.advance(seconds=30, updated_fraction=0.1)

    extracted, loaded = _sync(target, warehouse, "first")

    operation = sandbox.shopify.bulk.get(str(extracted.export_operation))
    assert operation is not None
    created = parse_instant(iso(operation.created_at))
    assert created is not None and parse_instant(extracted.walk_started_at) == created
    newest = max(parse_instant(r["updated_at"]) for r in sandbox.shopify.records("customers"))
    ceiling = created - timedelta(seconds=target.connection.clock_skew_seconds)
    assert newest > ceiling
    assert parse_instant(loaded.cursor) == ceiling

    sandbox.shopify.advance(seconds=600, updated_fraction=0.05)
    incremental, _ = _sync(target, warehouse, "second")
    assert incremental.export_operation is None and incremental.since is not None
    assert 0 < incremental.records < SIZES["customers"]


def test_a_full_refresh_through_bulk_still_soft_deletes_what_the_shop_deleted(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse
) -> None:
    target = _target(sandbox, mappings, "customers", "bulk-shop")
    _sync(target, warehouse, "first")
    sandbox.shopify.advance(seconds=3600, deleted={"customers": 9})

    refreshed, loaded = _sync(target, warehouse, "refresh", full_refresh=True)

    assert refreshed.export_operation is not None
    assert loaded.reconciled is not None and loaded.reconciled.marked_deleted == 9
    table = build_table(target.mapping.tables[0], warehouse.schema)
    with warehouse.read() as conn:
        deleted = conn.execute(
            select(table.c.id).where(table.c[DELETED_AT_COLUMN].is_not(None))
        ).all()
    assert len(deleted) == 9


def test_a_failed_export_is_a_clear_error_and_loads_nothing(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse
) -> None:
    target = _target(sandbox, mappings, "customers", "bulk-shop")
    sandbox.shopify.set_faults(bulk_failure={"error_code": "TIMEOUT", "after_objects": 500})

    with pytest.raises(ExportError) as raised:
        run_extract(target, warehouse, run_id="r1", settings=SETTINGS)

    assert raised.value.error_code == "TIMEOUT"
    assert "ended FAILED with error code TIMEOUT" in str(raised.value)
    state = SyncStateStore(warehouse).get("bulk-shop", "customers")
    assert state is not None and state.last_status == "failed" and state.cursor is None
    landing = LandingStore(warehouse)
    assert landing.record_count("r1", "bulk-shop", "customers") == 0

    # Once the shop behaves, the retried extract starts a new export and loads it all.
    sandbox.shopify.clear_faults()
    retried, _ = _sync(target, warehouse, "r1")
    assert retried.export_operation != raised.value.operation_id
    assert set(_rows(warehouse, target)) == _shop_ids(sandbox, "customers", "Customer")


class Crash(Exception):
    """The extract step dies (the process, the landing database) after some pages."""


def test_a_retried_extract_goes_on_with_the_same_export_and_lands_nothing_twice(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse
) -> None:
    target = _target(sandbox, mappings, "customers", "bulk-shop")
    settings = SyncSettings(
        batch_records=500,
        extract=ExtractSettings(export_poll_interval_seconds=0.02, export_page_records=100),
    )

    def crash_at_page_6(step: str, pages: int, records: int) -> None:
        if pages == 6:
            raise Crash

    sandbox.shopify.set_faults(bulk_download_cut={"after_bytes": 100_000, "mode": "once"})
    sandbox.shopify.reset_stats()

    with pytest.raises(Crash):
        run_extract(target, warehouse, run_id="r1", settings=settings, progress=crash_at_page_6)
    operations = len(sandbox.shopify.bulk.all())
    extracted = run_extract(target, warehouse, run_id="r1", settings=settings)
    loaded = run_load(target, warehouse, extracted, run_id="r1", settings=settings)

    assert len(sandbox.shopify.bulk.all()) == operations  # no second export
    assert extracted.resumed_pages == 6
    # The file was read three times: cut at 100 kB, the rest with a range, then the retry
    # going on after the sixth landed page.
    stats = sandbox.shopify.stats()
    downloads = [path for path in stats.by_path if path.endswith("-final.jsonl")]
    assert [stats.by_path[path] for path in downloads] == [3]
    assert stats.by_status[206] == 2
    pages = list(LandingStore(warehouse).iter_pages("r1", "bulk-shop", "customers"))
    landed = [
        record["id"]
        for page in pages
        for record in records_from_body(page.body, "data.customers.nodes", connections=True)
    ]
    # Landing keeps where each page came from, never the file URL's signature.
    assert pages[0].url is not None and pages[0].url.endswith("/graphql.json")
    assert all(page.url is not None and "?" not in page.url for page in pages)
    assert len(landed) == len(set(landed)) == SIZES["customers"]
    assert loaded.upsert.inserted == SIZES["customers"]
    assert set(_rows(warehouse, target)) == _shop_ids(sandbox, "customers", "Customer")


def test_a_step_that_fails_while_the_export_runs_cancels_it(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse
) -> None:
    target = _target(sandbox, mappings, "orders", "bulk-shop")
    sandbox.shopify.bulk.pause()

    def crash_on_the_marker(step: str, pages: int, records: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        run_extract(target, warehouse, run_id="r1", settings=SETTINGS, progress=crash_on_the_marker)

    [operation] = [op for op in sandbox.shopify.bulk.all() if op.status.value != "COMPLETED"]
    assert sandbox.shopify.bulk.wait_for(operation.gid, ["CANCELED"]).status.value == "CANCELED"


def test_bulk_always_exports_an_incremental_sync_of_only_what_changed(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse
) -> None:
    target = _target(sandbox, mappings, "customers", "bulk-shop", bulk="always")
    _sync(target, warehouse, "first")
    sandbox.shopify.advance(seconds=3600, updated_fraction=0.05)

    incremental, _ = _sync(target, warehouse, "second")

    assert incremental.export_operation is not None and incremental.since is not None
    changed = [
        record
        for record in sandbox.shopify.records("customers")
        if parse_instant(record["updated_at"]) >= parse_instant(incremental.since)
    ]
    assert incremental.records == len(changed) < SIZES["customers"]
    assert set(_rows(warehouse, target)) == _shop_ids(sandbox, "customers", "Customer")


def test_bulk_never_pages_even_a_first_sync(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse
) -> None:
    target = _target(sandbox, mappings, "customers", "paged-shop", bulk="never")
    before = len(sandbox.shopify.bulk.all())

    extracted, _ = _sync(target, warehouse, "r1")

    assert extracted.export_operation is None
    assert len(sandbox.shopify.bulk.all()) == before
    assert extracted.records == SIZES["customers"]


KILLED_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from integration_assets.connectors.connections import get_connection
    from integration_assets.extract import ExtractSettings
    from integration_assets.load.warehouse import Warehouse
    from integration_assets.sync.steps import SyncSettings, run_extract
    from integration_assets.sync.target import SyncTarget

    connections, warehouse_url = sys.argv[1:3]
    target = SyncTarget(get_connection("bulk-shop", connections), "customers")
    settings = SyncSettings(extract=ExtractSettings(export_poll_interval_seconds=0.02))

    def killed_once_the_marker_is_stored(step, pages, records):
        os.kill(os.getpid(), signal.SIGKILL)  # no except block, no cancel: a real crash

    run_extract(
        target, Warehouse.from_url(warehouse_url), run_id="r1", settings=settings,
        progress=killed_once_the_marker_is_stored,
    )
    print("finished without being killed")
    """
)


def test_an_extract_killed_while_its_export_runs_is_picked_up_by_the_retry(
    sandbox: Sandbox, mappings: Path, warehouse: Warehouse, warehouse_url: str, tmp_path: Path
) -> None:
    connections = tmp_path / "connections.yaml"
    connections.write_text(
        "connections:\n"
        "  - name: bulk-shop\n"
        "    vendor: shopify\n"
        "    api: graphql\n"
        f"    base_url: {sandbox.shopify_url}\n"
        f"    secrets: {{access_token: {TOKEN_ENV}}}\n"
        "    entities: {customers: hourly}\n"
    )
    bulk = sandbox.shopify.bulk
    bulk.pause()
    before = len(bulk.all())

    child = subprocess.run(
        [sys.executable, "-c", KILLED_CHILD, str(connections), warehouse_url],
        env={**os.environ, TOKEN_ENV: sandbox.shopify.access_token},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert child.returncode == -signal.SIGKILL, child.stderr
    [operation] = bulk.all()[before:]
    assert operation.status.value in ("CREATED", "RUNNING")  # nobody canceled it
    bulk.resume()
    target = _target(sandbox, mappings, "customers", "bulk-shop")
    extracted, _ = _sync(target, warehouse, "r1")

    assert len(bulk.all()) == before + 1  # the retry went on with the same export
    assert extracted.export_operation == operation.gid
    assert set(_rows(warehouse, target)) == _shop_ids(sandbox, "customers", "Customer")
