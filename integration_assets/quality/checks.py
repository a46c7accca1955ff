"""The registry of named Python checks a mapping file may ask for, by name.

Two kinds, both vectorised over a batch's frame (True: the row passes; nulls pass, since
`required` says whether a value must be there):

- **field checks** (`"quality": {"checks": ["gtin_checksum"]}` on a field) test one column;
Frames hold decimals and floats as float64 and datetimes as epoch seconds (float64), nulls
as NaN (see `quality.gate`).

- **entity checks** (`"quality": {"checks": ["updated_after_created"]}` on the entity) test
  rows of the entity's own table, reading other columns of the row and the rows of its
  child tables (each child frame has a `PARENT_POSITION` column: the position of its parent
  row in the parent frame).

Every check belongs to one quality dimension. An entity check also says which columns it
needs (`requires`): the mapping stage asks it when the file is loaded, so a check the mapping
cannot feed is a mapping error, not a crash halfway through a sync.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from integration_assets.quality.model import Dimension
from integration_assets.schema import ColumnType, TableSchema

PARENT_POSITION = "__parent"
"""Column of a child frame: the position of the row's parent in the parent frame."""
CENT = 0.01
_TOLERANCE = CENT + 1e-9  # "within a cent", robust to float rounding of decimal amounts


@dataclass(frozen=True)
class EntityTables:
    """What an entity check may read of the mapping: its own table, children, guard column."""

    table: TableSchema
    children: tuple[TableSchema, ...]
    updated_column: str | None

    def child(self, name: str) -> TableSchema | None:
        return next((child for child in self.children if child.name == name), None)


@dataclass(frozen=True)
class BatchFrames:
    """One batch as frames: the entity's own rows, and each child table's rows."""

    frame: pd.DataFrame
    children: Mapping[str, pd.DataFrame]


@dataclass(frozen=True)
class FieldCheck:
    name: str
    dimension: Dimension
    description: str
    types: frozenset[ColumnType]
    """Column types it applies to."""
    test: Callable[[pd.Series], pd.Series]
    """Non-null values in, True where the value passes."""


@dataclass(frozen=True)
class EntityCheck:
    name: str
    dimension: Dimension
    description: str
    requires: Callable[[EntityTables], str | None]
    """None when the mapping can feed the check, else what it lacks."""
    test: Callable[[BatchFrames, EntityTables], pd.Series]
    """True per row of the entity's own frame that passes (same index)."""
    columns: Callable[[EntityTables], dict[str, tuple[str, ...]]]
    """Per table, the columns the check reads (so the gate builds only those)."""


# --- field checks -------------------------------------------------------------------------


def _gtin_valid(values: pd.Series) -> pd.Series:
    """GS1 check digit of GTIN-8/12/13/14 barcodes (weights 3,1,3,… from the right)."""

    def valid(text: str) -> bool:
        if not text.isdigit() or len(text) not in (8, 12, 13, 14):
            return False
        digits = [int(char) for char in text]
        body, check = digits[:-1], digits[-1]
        total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
        return (10 - total % 10) % 10 == check

    return values.astype(str).map(valid).astype(bool)


def _not_blank(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().str.len() > 0


_TEXT = frozenset({ColumnType.STRING})
FIELD_CHECKS: dict[str, FieldCheck] = {
    check.name: check
    for check in (
        FieldCheck(
            "gtin_checksum",
            Dimension.ACCURACY,
            "a GTIN barcode whose GS1 check digit is right",
            _TEXT,
            _gtin_valid,
        ),
        FieldCheck(
            "not_blank",
            Dimension.COMPLETENESS,
            "text with something other than whitespace",
            _TEXT,
            _not_blank,
        ),
    )
}


# --- entity checks ------------------------------------------------------------------------

_CREATED = ("created_at", "created")
_UPDATED = ("updated_at", "updated")


def _timestamps(tables: EntityTables) -> tuple[str | None, str | None]:
    names = {column.name: column.type for column in tables.table.columns}
    created = next((n for n in _CREATED if names.get(n) is ColumnType.DATETIME), None)
    updated = tables.updated_column
    if updated is None:
        updated = next((n for n in _UPDATED if names.get(n) is ColumnType.DATETIME), None)
    return created, updated


def _updated_requires(tables: EntityTables) -> str | None:
    created, updated = _timestamps(tables)
    if created is None or updated is None:
        return (
            f"needs a datetime creation column ({' or '.join(_CREATED)}) and an update column "
            f"(source_updated_at, or {' or '.join(_UPDATED)}) in {tables.table.name}"
        )
    return None


def _updated_after_created(frames: BatchFrames, tables: EntityTables) -> pd.Series:
    created, updated = _timestamps(tables)
    frame = frames.frame
    first, last = frame[created], frame[updated]
    known = first.notna() & last.notna()
    return ~known | (_as_float(last) >= _as_float(first))


_ORDER_COLUMNS = ("total_price", "total_tax", "total_discounts", "total_shipping")
_TIP_COLUMN = "total_tip_received"
"""Optional: Shopify's total_price includes the tip left at checkout (null: no tip)."""
_LINE_COLUMNS = ("price", "quantity")
_NUMBERS = frozenset({ColumnType.DECIMAL, ColumnType.FLOAT, ColumnType.INTEGER})


def _line_table(tables: EntityTables) -> TableSchema | None:
    for child in tables.children:
        names = {column.name: column.type for column in child.columns}
        if all(names.get(column) in _NUMBERS for column in _LINE_COLUMNS):
            return child
    return None


def _balance_requires(tables: EntityTables) -> str | None:
    names = {column.name: column.type for column in tables.table.columns}
    missing = [column for column in _ORDER_COLUMNS if names.get(column) not in _NUMBERS]
    problems = []
    if missing:
        problems.append(f"numeric columns {', '.join(missing)} in {tables.table.name}")
    if _line_table(tables) is None:
        problems.append("a child table of line items with numeric price and quantity")
    return "needs " + " and ".join(problems) if problems else None


def _as_float(values: pd.Series) -> pd.Series:
    if values.dtype.kind == "f":
        return values
    return pd.to_numeric(values, errors="coerce")


def _total_balances(frames: BatchFrames, tables: EntityTables) -> pd.Series:
    """total_price = sum(line price * quantity) + total_tax + total_shipping - total_discounts.

    `total_discounts` is the order's whole discount (Shopify's, which includes line-level
    discounts), so line `total_discount` is not subtracted again. An order missing any of the
    amounts is not judged here (that is `required`'s job).

    A tip left at checkout is part of total_price: a mapping with a numeric
    `total_tip_received` column has it added (a null tip is none).

    A shop whose prices include tax (Shopify's `taxes_included`, the norm in the EU, the UK
    and Australia) has total_price = lines + shipping - discounts, `total_tax` being the part
    of it that is tax: an order balancing either way passes, or every order of such a shop
    would be quarantined and every one of its syncs stopped by the gate.
    """
    frame = frames.frame
    lines_table = _line_table(tables)
    assert lines_table is not None  # `requires` was checked when the mapping loaded
    lines = frames.children.get(lines_table.name)
    line_totals = pd.Series(0.0, index=frame.index)
    if lines is not None and len(lines):
        amounts = _as_float(lines["price"]) * _as_float(lines["quantity"])
        sums = amounts.groupby(lines[PARENT_POSITION]).sum(min_count=1)
        line_totals = line_totals.add(sums.reindex(frame.index), fill_value=0.0)
    total, tax, discounts, shipping = (_as_float(frame[column]) for column in _ORDER_COLUMNS)
    tax_included = line_totals + shipping - discounts
    if _TIP_COLUMN in frame.columns:
        tax_included = tax_included + _as_float(frame[_TIP_COLUMN]).fillna(0.0)
    expected = tax_included + tax
    judged = total.notna() & tax.notna() & shipping.notna() & discounts.notna()
    balanced = ((total - expected).abs() <= _TOLERANCE) | (
        (total - tax_included).abs() <= _TOLERANCE
    )
    return ~judged | balanced


def _order_columns(tables: EntityTables) -> dict[str, tuple[str, ...]]:
    lines = _line_table(tables)
    assert lines is not None
    names = {column.name: column.type for column in tables.table.columns}
    tip = (_TIP_COLUMN,) if names.get(_TIP_COLUMN) in _NUMBERS else ()
    return {tables.table.name: _ORDER_COLUMNS + tip, lines.name: _LINE_COLUMNS}


def _timestamp_columns(tables: EntityTables) -> dict[str, tuple[str, ...]]:
    created, updated = _timestamps(tables)
    return {tables.table.name: tuple(name for name in (created, updated) if name)}


ENTITY_CHECKS: dict[str, EntityCheck] = {
    check.name: check
    for check in (
        EntityCheck(
            "updated_after_created",
            Dimension.CONSISTENCY,
            "the record was last updated no earlier than it was created",
            _updated_requires,
            _updated_after_created,
            _timestamp_columns,
        ),
        EntityCheck(
            "order_total_balances",
            Dimension.CONSISTENCY,
            "total_price equals the line items' price x quantity plus total_tax plus "
            "total_shipping minus total_discounts, within a cent (total_tax not added when "
            "the prices include it)",
            _balance_requires,
            _total_balances,
            _order_columns,
        ),
    )
}
