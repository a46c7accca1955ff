"""A Shopify connection switched from REST to GraphQL keeps its tables, row for row.

The shop is synced over the legacy REST API, the connection's `api` is switched to GraphQL
and the shop synced again: same tables, same values, and not one row rewritten (its
`_run_id`, `_synced_at` and `_row_hash` are still the REST run's), because both mappings
fill the same columns with equal values and equal values hash equal. Records that change
afterwards are written by the GraphQL sync exactly as a REST sync writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from integration_assets.connectors.connections import Connection, RateLimitOverride
from integration_assets.extract import ExtractSettings
from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.result import TableCounts
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.schema import (
    CONNECTION_COLUMN,
    METADATA_COLUMNS,
    TableSchema,
)
from integration_assets.sync.steps import LoadResult, SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import MAPPINGS

ENTITIES = ("customers", "orders", "products")
SETTINGS = SyncSettings(batch_records=50, extract=ExtractSettings(page_size=25))
ROOMY = RateLimitOverride(capacity=1_000_000, refill_per_second=1_000_000.0)
SHOP = "switching-shop"

Rows = dict[str, list[dict[str, Any]]]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(
        seed=23, sizes={"customers": 120, "orders": 40, "products": 25}, rate_limits=False
    ) as running:
        yield running


@pytest.fixture
def token(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("IA_SWITCH_SHOP_TOKEN", sandbox.shopify.access_token)
    return "IA_SWITCH_SHOP_TOKEN"


def shop(sandbox: Sandbox, token: str, api: str, name: str = SHOP) -> Connection:
    return Connection(
        name=name,
        vendor="shopify",
        api=api,
        base_url=sandbox.shopify_url,
        secrets={"access_token": token},
        entities=dict.fromkeys(ENTITIES, "hourly"),
        rate_limit=ROOMY,
    )


def sync(
    connection: Connection,
    entity: str,
    warehouse: Warehouse,
    run_id: str,
    *,
    full_refresh: bool = False,
) -> tuple[SyncTarget, LoadResult]:
    target = SyncTarget(connection, entity, MAPPINGS)
    extracted = run_extract(
        target, warehouse, run_id=run_id, full_refresh=full_refresh, settings=SETTINGS
    )
    return target, run_load(target, warehouse, extracted, run_id=run_id, settings=SETTINGS)


def stored(warehouse: Warehouse, tables: tuple[TableSchema, ...], connection: str) -> Rows:
    """Every row of the connection, metadata included, in key order."""
    found: Rows = {}
    with warehouse.read() as conn:
        for schema in tables:
            table = build_table(schema, warehouse.schema)
            query = (
                select(table)
                .where(table.c[CONNECTION_COLUMN] == connection)
                .order_by(*table.primary_key.columns)
            )
            found[schema.name] = [dict(row) for row in conn.execute(query).mappings()]
    return found


def values(rows: Rows) -> Rows:
    """The mapped values only: what two connections syncing the same shop must agree on."""
    return {
        name: [{k: v for k, v in row.items() if k not in METADATA_COLUMNS} for row in table]
        for name, table in rows.items()
    }


def open_quarantine(warehouse: Warehouse) -> int:
    table = bookkeeping(warehouse.dialect).quarantine
    with warehouse.read() as conn:
        return len(conn.execute(select(table.c.id)).all())


@pytest.mark.parametrize("entity", ENTITIES)
def test_switching_a_connection_from_rest_to_graphql_rewrites_no_row(
    sandbox: Sandbox, token: str, warehouse: Warehouse, entity: str
) -> None:
    target, over_rest = sync(shop(sandbox, token, "rest"), entity, warehouse, "rest-run")
    tables = target.mapping.tables
    before = stored(warehouse, tables, SHOP)
    assert target.connector.api_id == "rest"
    assert all(before.values()) and over_rest.upsert[tables[0].name].inserted > 0

    switched, over_graphql = sync(
        shop(sandbox, token, "graphql"), entity, warehouse, "graphql-run", full_refresh=True
    )

    assert switched.connector.api_id == "graphql"
    assert switched.mapping.tables == tables
    assert over_graphql.records == over_rest.records  # every record read again, over GraphQL
    for schema in tables:
        kept = len(before[schema.name])
        assert over_graphql.upsert[schema.name] == TableCounts(unchanged=kept), schema.name
    assert stored(warehouse, tables, SHOP) == before  # same _run_id, _synced_at, _row_hash
    assert open_quarantine(warehouse) == 0


def test_after_the_switch_changed_records_are_written_as_rest_writes_them(
    sandbox: Sandbox, token: str, warehouse: Warehouse
) -> None:
    """Orders change at the vendor after the switch: the GraphQL sync rewrites those (and
    their line items) only, and the table equals what a REST connection of the same shop
    holds after syncing the same changes."""
    sync(shop(sandbox, token, "rest"), "orders", warehouse, "rest-run")
    sandbox.shopify.advance(seconds=3_600, updated_fraction=0.25)

    target, over_graphql = sync(shop(sandbox, token, "graphql"), "orders", warehouse, "gql-run")
    _, reference = sync(
        shop(sandbox, token, "rest", name="rest-shop"), "orders", warehouse, "reference-run"
    )

    tables = target.mapping.tables
    counts = over_graphql.upsert["shopify_orders"]
    assert counts.updated > 0 and counts.inserted + counts.updated <= over_graphql.records
    switched = stored(warehouse, tables, SHOP)
    rewritten = [row for row in switched["shopify_orders"] if row["_run_id"] == "gql-run"]
    assert len(rewritten) == counts.inserted + counts.updated
    assert values(switched) == values(stored(warehouse, tables, "rest-shop"))
    assert reference.upsert["shopify_orders"].inserted == len(switched["shopify_orders"])
    assert open_quarantine(warehouse) == 0
