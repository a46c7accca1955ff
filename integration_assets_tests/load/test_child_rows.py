"""Child rows follow the parent version that is kept, and a parent's hash covers its children.

Records go through the real compiler (so the test covers the mapping contract: each child row
names the parent row it came from) and the real upsert on both backends.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from integration_assets.load import TableCounts, Warehouse, build_table, ensure_tables, upsert_batch
from integration_assets.load.result import UpsertResult
from integration_assets.mapping.compiler import CompiledMapping, compile_mapping
from integration_assets.mapping.spec import MappingSpec
from integration_assets.schema import (
    PARENT_ROW,
    ColumnSchema,
    ColumnType,
    MappedBatch,
    TableSchema,
)
from integration_assets_tests.load.samples import LINE_ITEMS, ORDERS, later, line, order
from integration_assets_tests.mapping.conftest import order_mapping

OLD, NEW = "2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z"


def record(at: str, *line_items: tuple[int, str], total: str = "1.00") -> dict[str, Any]:
    return {
        "id": 7,
        "updated_at": at,
        "total_price": total,
        "line_items": [{"id": i, "sku": sku, "price": "1.00"} for i, sku in line_items],
    }


@pytest.fixture
def compiled(warehouse: Warehouse) -> CompiledMapping:
    mapping = compile_mapping(MappingSpec.model_validate(order_mapping()))
    ensure_tables(warehouse, mapping.tables)
    return mapping


def load(
    warehouse: Warehouse, mapping: CompiledMapping, records: list[dict[str, Any]], run: str
) -> UpsertResult:
    batch = mapping.map_records(records)
    assert batch.rejected == []
    return upsert_batch(
        warehouse, mapping.tables, batch, connection="shop", entity="orders", run_id=run
    )


def stored(warehouse: Warehouse, mapping: CompiledMapping, name: str) -> dict[Any, dict]:
    schema = next(table for table in mapping.tables if table.name == name)
    table = build_table(schema)
    with warehouse.read() as conn:
        rows = conn.execute(select(table)).mappings().all()
    return {row["id"]: dict(row) for row in rows}


def skus(warehouse: Warehouse, mapping: CompiledMapping) -> dict[int, str]:
    rows = stored(warehouse, mapping, "shopify_order_line_items")
    return {key: row["sku"] for key, row in rows.items()}


@pytest.mark.parametrize(
    "versions",
    [
        [record(OLD, (1, "old"), (2, "old")), record(NEW, (3, "new"), total="2.00")],
        [record(NEW, (3, "new"), total="2.00"), record(OLD, (1, "old"), (2, "old"))],
        [record(NEW, (1, "old"), (2, "old")), record(NEW, (3, "new"), total="2.00")],
    ],
    ids=["older-then-newer", "newer-then-older", "same-timestamp-later-wins"],
)
def test_one_order_twice_in_a_batch_keeps_the_kept_versions_line_items(
    warehouse: Warehouse, compiled: CompiledMapping, versions: list[dict[str, Any]]
) -> None:
    result = load(warehouse, compiled, versions, "r1")

    assert result["shopify_orders"] == TableCounts(inserted=1, duplicates=1)
    assert stored(warehouse, compiled, "shopify_orders")[7]["total_price"] == 2
    assert skus(warehouse, compiled) == {3: "new"}


def test_the_kept_versions_line_items_replace_what_was_stored(
    warehouse: Warehouse, compiled: CompiledMapping
) -> None:
    load(warehouse, compiled, [record(OLD, (1, "first"))], "r1")

    load(warehouse, compiled, [record(NEW, (2, "b")), record(NEW, (3, "c"))], "r2")

    assert skus(warehouse, compiled) == {3: "c"}


def test_a_change_only_in_line_items_is_written(
    warehouse: Warehouse, compiled: CompiledMapping
) -> None:
    load(warehouse, compiled, [record(NEW, (1, "a"), (2, "b"))], "r1")

    result = load(warehouse, compiled, [record(NEW, (1, "a"), (2, "B"), (4, "d"))], "r2")

    assert result["shopify_orders"] == TableCounts(updated=1)
    assert result["shopify_order_line_items"] == TableCounts(inserted=3, deleted=2)
    assert skus(warehouse, compiled) == {1: "a", 2: "B", 4: "d"}
    again = load(warehouse, compiled, [record(NEW, (4, "d"), (2, "B"), (1, "a"))], "r3")
    assert again["shopify_orders"] == TableCounts(unchanged=1)  # line order is not content


TAXES = TableSchema(
    name="order_line_taxes",
    columns=(
        ColumnSchema("line_id", ColumnType.INTEGER, nullable=False),
        ColumnSchema("tax_id", ColumnType.STRING, nullable=False),
        ColumnSchema("rate", ColumnType.STRING),
    ),
    primary_key=("tax_id",),
    parent="order_line_items",
    parent_key=("line_id",),
)
FAMILY = [ORDERS, LINE_ITEMS, TAXES]


def family_batch(*versions: tuple[int, int, str, str]) -> MappedBatch:
    """(minutes, line id, tax id, rate) per version of order 1, each a row with its
    descendants, linked the way the compiler links them (`PARENT_ROW`)."""
    batch = MappedBatch(rows={"orders": [], "order_line_items": [], "order_line_taxes": []})
    for minutes, line_id, tax_id, rate in versions:
        parent = order(1, at=later(minutes))
        child = {**line(1, line_id), PARENT_ROW: parent}
        grandchild = {"line_id": line_id, "tax_id": tax_id, "rate": rate, PARENT_ROW: child}
        batch.rows["orders"].append(parent)
        batch.rows["order_line_items"].append(child)
        batch.rows["order_line_taxes"].append(grandchild)
    return batch


def load_family(warehouse: Warehouse, batch: MappedBatch, run: str) -> UpsertResult:
    ensure_tables(warehouse, FAMILY)
    return upsert_batch(warehouse, FAMILY, batch, connection="shop", entity="orders", run_id=run)


def taxes(warehouse: Warehouse) -> dict[str, str]:
    table = build_table(TAXES)
    with warehouse.read() as conn:
        return dict(conn.execute(select(table.c.tax_id, table.c.rate)).all())


def test_a_change_only_in_a_grandchild_rewrites_the_family(warehouse: Warehouse) -> None:
    load_family(warehouse, family_batch((0, 10, "vat", "0.20")), "r1")

    result = load_family(warehouse, family_batch((0, 10, "vat", "0.10")), "r2")

    assert result["orders"] == TableCounts(updated=1)
    assert result["order_line_taxes"] == TableCounts(inserted=1, deleted=1)
    assert taxes(warehouse) == {"vat": "0.10"}


@pytest.mark.parametrize(
    "minutes", [(5, 1), (1, 5), (3, 3)], ids=["newer-first", "older-first", "tie"]
)
def test_grandchildren_follow_the_kept_version_too(
    warehouse: Warehouse, minutes: tuple[int, int]
) -> None:
    first, second = minutes
    batch = family_batch((first, 10, "first", "a"), (second, 11, "second", "b"))

    load_family(warehouse, batch, "r1")

    kept = "first" if first > second else "second"
    assert taxes(warehouse) == {kept: "a" if kept == "first" else "b"}
