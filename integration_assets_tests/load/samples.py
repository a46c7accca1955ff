"""Sample tables and rows for the load tests (no pytest import: subprocesses use it too)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from integration_assets.schema import ColumnSchema, ColumnType, TableSchema

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

CUSTOMERS = TableSchema(
    name="customers",
    columns=(
        ColumnSchema("id", ColumnType.INTEGER, nullable=False),
        ColumnSchema("email", ColumnType.STRING, nullable=False),
        ColumnSchema("total_spent", ColumnType.DECIMAL),
        ColumnSchema("score", ColumnType.FLOAT),
        ColumnSchema("verified", ColumnType.BOOLEAN),
        ColumnSchema("birthday", ColumnType.DATE),
        ColumnSchema("tags", ColumnType.JSON),
        ColumnSchema("updated_at", ColumnType.DATETIME, nullable=False),
    ),
    primary_key=("id",),
    source_updated_at="updated_at",
)

ORDERS = TableSchema(
    name="orders",
    columns=(
        ColumnSchema("id", ColumnType.INTEGER, nullable=False),
        ColumnSchema("total", ColumnType.DECIMAL),
        ColumnSchema("updated_at", ColumnType.DATETIME, nullable=False),
    ),
    primary_key=("id",),
    source_updated_at="updated_at",
)

LINE_ITEMS = TableSchema(
    name="order_line_items",
    columns=(
        ColumnSchema("order_id", ColumnType.INTEGER, nullable=False),
        ColumnSchema("line_id", ColumnType.INTEGER, nullable=False),
        ColumnSchema("sku", ColumnType.STRING),
        ColumnSchema("quantity", ColumnType.INTEGER),
    ),
    primary_key=("line_id",),
    parent="orders",
    parent_key=("order_id",),
)


def customer(
    id: int, *, at: datetime = T0, email: str | None = None, **changes: Any
) -> dict[str, Any]:
    """A mapped customers row."""
    row = {
        "id": id,
        "email": email or f"c{id}@example.com",
        "total_spent": Decimal("10.50"),
        "score": 0.5,
        "verified": True,
        "birthday": date(1990, 1, 2),
        "tags": {"tags": ["vip"]},
        "updated_at": at,
    }
    row.update(changes)
    return row


def order(id: int, *, at: datetime = T0, total: str = "1.00") -> dict[str, Any]:
    return {"id": id, "total": Decimal(total), "updated_at": at}


def line(order_id: int, line_id: int, sku: str = "SKU", quantity: int = 1) -> dict[str, Any]:
    return {"order_id": order_id, "line_id": line_id, "sku": sku, "quantity": quantity}


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)
