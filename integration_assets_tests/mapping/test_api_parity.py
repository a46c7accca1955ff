"""Shopify's REST and GraphQL mappings turn the same record into the same rows.

Each pair of fixtures is one documented record (the REST examples of the Customer, Order and
Product resources) as each API sends it: GraphQL writes ids as global ids, enums in upper
case, tags as a list, amounts inside MoneyBags with another scale (`597.0` for `597.00`) and
timestamps in UTC. Mapped, they must give equal values in every column of every table and
equal row hashes, so a connection that switches API rewrites nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from integration_assets.load import (
    TableCounts,
    UpsertResult,
    Warehouse,
    build_table,
    ensure_bookkeeping,
    ensure_tables,
    upsert_batch,
)
from integration_assets.load.rows import prepare_batch
from integration_assets.mapping import compile_mapping, load_mapping
from integration_assets.mapping.compiler import CompiledMapping
from integration_assets.mapping.union import load_table_union
from integration_assets.schema import PARENT_ROW, MappedBatch, Row, TableSchema
from integration_assets_tests.mapping.conftest import FIXTURES, SHIPPED_MAPPINGS

ENTITIES = [("customers", "customer"), ("orders", "order"), ("products", "product")]


def mapping(entity: str, api: str) -> CompiledMapping:
    spec = load_mapping("shopify", entity, mappings_dir=SHIPPED_MAPPINGS, api=api)
    return compile_mapping(spec, load_table_union("shopify", entity, SHIPPED_MAPPINGS))


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def mapped(entity: str, api: str, record: dict[str, Any]) -> MappedBatch:
    batch = mapping(entity, api).map_records([record])
    assert batch.rejected == []
    return batch


def plain(rows: list[Row]) -> list[Row]:
    return [{k: v for k, v in row.items() if k != PARENT_ROW} for row in rows]


def hashes(entity: str, batch: MappedBatch) -> dict[str, list[str]]:
    tables = mapping(entity, "rest").tables
    prepared = prepare_batch(
        tables, batch, connection="shop", run_id="r1", synced_at=datetime.now(UTC)
    )
    return {name: [row[-1] for row in table.rows] for name, table in prepared.items()}


@pytest.mark.parametrize(("entity", "record"), ENTITIES)
def test_both_apis_describe_the_same_tables(entity: str, record: str) -> None:
    assert mapping(entity, "graphql").tables == mapping(entity, "rest").tables


@pytest.mark.parametrize(("entity", "record"), ENTITIES)
def test_the_same_record_from_either_api_maps_to_equal_rows_and_row_hashes(
    entity: str, record: str
) -> None:
    rest = mapped(entity, "rest", fixture(f"shopify_{record}"))
    graphql = mapped(entity, "graphql", fixture(f"shopify_graphql_{record}"))

    assert list(graphql.rows) == list(rest.rows)
    for table in rest.rows:
        assert plain(graphql.rows[table]) == plain(rest.rows[table]), table
        assert all(row for row in rest.rows[table])
    assert hashes(entity, graphql) == hashes(entity, rest)


def test_the_graphql_order_spells_rest_values_the_rest_way() -> None:
    batch = mapped("orders", "graphql", fixture("shopify_graphql_order"))

    (order,) = batch.rows["shopify_orders"]
    assert order["id"] == 450789469
    assert (order["financial_status"], order["fulfillment_status"]) == (
        "partially_refunded",
        None,
    )
    assert (order["order_number"], order["customer_id"], order["tags"]) == (1001, 207119551, "")
    assert order["subtotal_price"] == Decimal("597.00")
    assert order["processed_at"] == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    lines = batch.rows["shopify_order_line_items"]
    assert [(line["id"], line["variant_id"], line["price"]) for line in lines] == [
        (466157049, 39072856, Decimal("199")),
        (518995019, 49148385, Decimal("199")),
        (703073504, 457924702, Decimal("199")),
    ]


def test_the_graphql_customer_flattens_email_phone_and_address_like_rest() -> None:
    (row,) = mapped("customers", "graphql", fixture("shopify_graphql_customer")).rows[
        "shopify_customers"
    ]

    assert (row["state"], row["email_marketing_state"], row["sms_marketing_state"]) == (
        "disabled",
        "not_subscribed",
        "not_subscribed",
    )
    assert (row["orders_count"], row["last_order_id"], row["default_address_id"]) == (
        1,
        450789469,
        207119551,
    )
    assert row["tags"] == "Léon, Noël"
    assert row["default_address_country_code"] == "US"


def test_the_graphql_product_reads_variant_options_and_inventory_items() -> None:
    batch = mapped("products", "graphql", fixture("shopify_graphql_product"))

    (product,) = batch.rows["shopify_products"]
    assert (product["status"], product["published_scope"]) == ("active", None)
    assert product["tags"] == "Emotive, Flash Memory, MP3, Music"
    variants = batch.rows["shopify_product_variants"]
    assert [(v["option1"], v["option2"], v["inventory_item_id"]) for v in variants] == [
        ("Pink", None, 808950810),
        ("Red", None, 49148385),
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("FULFILLED", "fulfilled"),
        ("PARTIALLY_FULFILLED", "partial"),
        ("RESTOCKED", "restocked"),
        ("UNFULFILLED", None),
        ("FULFILLMENT_NOT_REQUIRED", None),
        ("ON_HOLD", None),
    ],
)
def test_graphql_fulfillment_states_become_rest_fulfillment_statuses(
    status: str, expected: str | None
) -> None:
    order = {**fixture("shopify_graphql_order"), "displayFulfillmentStatus": status}

    (row,) = mapped("orders", "graphql", order).rows["shopify_orders"]

    assert row["fulfillment_status"] == expected


def test_a_fulfillment_state_shopify_adds_later_quarantines_the_order_naming_it() -> None:
    order = {**fixture("shopify_graphql_order"), "displayFulfillmentStatus": "TELEPORTED"}

    batch = mapping("orders", "graphql").map_records([order])

    assert batch.rows["shopify_orders"] == []
    (rejected,) = batch.rejected
    assert rejected.record_key == "450789469"
    (reason,) = rejected.reasons
    assert reason.startswith(
        "shopify_orders.fulfillment_status (source displayFulfillmentStatus): enum: expected "
        "one of FULFILLED, FULFILLMENT_NOT_REQUIRED,"
    )
    assert reason.endswith("got 'TELEPORTED' (str)")


@pytest.mark.parametrize(("entity", "record"), ENTITIES)
def test_switching_a_connection_to_graphql_rewrites_no_row(
    warehouse_url: str, entity: str, record: str
) -> None:
    """The REST record is loaded, then the same record read over GraphQL: every table reports
    it unchanged and holds exactly what it held (same `_run_id`, `_synced_at`, hash)."""
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        ensure_bookkeeping(warehouse)
        tables = mapping(entity, "rest").tables
        ensure_tables(warehouse, tables)

        def load(api: str, name: str, run_id: str) -> UpsertResult:
            batch = mapped(entity, api, fixture(name))
            return upsert_batch(
                warehouse, tables, batch, connection="shop", entity=entity, run_id=run_id
            )

        first = load("rest", f"shopify_{record}", "rest-run")
        before = stored_rows(warehouse, tables)
        second = load("graphql", f"shopify_graphql_{record}", "graphql-run")

        assert all(first[table.name].inserted for table in tables)
        for table in tables:
            assert second[table.name] == TableCounts(unchanged=first[table.name].inserted)
        assert stored_rows(warehouse, tables) == before
    finally:
        warehouse.dispose()


def stored_rows(warehouse: Warehouse, tables: tuple[TableSchema, ...]) -> dict[str, list[Any]]:
    result = {}
    with warehouse.read() as conn:
        for schema in tables:
            table = build_table(schema)
            query = select(table).order_by(*table.primary_key.columns)
            result[schema.name] = [dict(row) for row in conn.execute(query).mappings()]
    return result
