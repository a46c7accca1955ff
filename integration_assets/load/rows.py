"""Turning a `MappedBatch` into warehouse rows, before any database work.

Done outside the transaction to keep it short, and on the hot path, so rows become plain
lists (mapped values, source timestamp, hash) in one pass. For each table, parents
first:

- Deduplicate by key: the same record can arrive on two pages of one run (offset pagination
  while records change). Postgres refuses to upsert one key twice in one statement, and the
  right answer is the newest version anyway: keep the row with the newest source timestamp;
  on a tie, or when a timestamp is missing, the later row wins.
- Child rows follow their kept parent: `_source_updated_at` is copied from it. When a parent
  key came more than once and child rows carry the `_source_updated_at` of the record they
  came from (an optional extra key in the row dict), only the children of the kept version
  survive; otherwise children are deduplicated by their own key, later wins.
- Convert datetimes to UTC (refusing naive ones, whose instant is unknown) and add
  `_connection`, `_synced_at`, `_run_id` and `_row_hash` (hash of the mapped values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from integration_assets.load.encoding import row_hash
from integration_assets.load.tables import (
    CONNECTION_COLUMN,
    DELETED_AT_COLUMN,
    ROW_HASH_COLUMN,
    RUN_ID_COLUMN,
    SOURCE_UPDATED_AT_COLUMN,
    SYNCED_AT_COLUMN,
)
from integration_assets.load.types import to_utc
from integration_assets.mapping.tables import ColumnType, MappedBatch, Row, TableSchema

Key = tuple[Any, ...]
Values = list[Any]


class BatchError(ValueError):
    """A mapped batch breaks the mapping contract (missing column, orphan child row)."""


@dataclass
class PreparedTable:
    """One table's warehouse rows for one batch, deduplicated and completed.

    `rows` are lists in `columns` order: the mapped columns, `_source_updated_at`,
    `_row_hash`. The values that are the same for every row of the batch (`_connection`,
    `_synced_at`, `_run_id`) are kept once, beside them, and added by the backends.
    """

    schema: TableSchema
    columns: tuple[str, ...]
    connection: str
    run_id: str
    synced_at: datetime
    rows: list[Values] = field(default_factory=list)
    by_key: dict[Key, Values] = field(default_factory=dict)
    duplicates: int = 0
    repeated_keys: set[Key] = field(default_factory=set)

    @property
    def source_ts_index(self) -> int:
        return len(self.columns) - 2

    @property
    def hash_index(self) -> int:
        return len(self.columns) - 1

    def positions(self, names: Sequence[str]) -> list[int]:
        return [self.columns.index(name) for name in names]

    def dicts(self, rows: Sequence[Values] | None = None) -> list[Row]:
        """Complete rows as column-name dicts (for SQLAlchemy `executemany`)."""
        constants = {
            CONNECTION_COLUMN: self.connection,
            SYNCED_AT_COLUMN: self.synced_at,
            RUN_ID_COLUMN: self.run_id,
            DELETED_AT_COLUMN: None,  # a row written again is not deleted
        }
        columns = self.columns
        return [
            {**constants, **dict(zip(columns, row, strict=True))}
            for row in (self.rows if rows is None else rows)
        ]


class _Layout:
    """Precomputed positions for turning one table's row dicts into value lists."""

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        # Values are kept in column-name order: the row hash is taken over them as they are,
        # so reordering columns in a mapping changes no hash (and no row). The backends name
        # columns explicitly, so their order is free.
        self.names = sorted(column.name for column in schema.columns)
        # One C-level call fetching every column (a list comprehension cost 4x more).
        getter = itemgetter(*self.names)
        self._fetch = getter if len(self.names) > 1 else lambda row: (getter(row),)
        index = {name: position for position, name in enumerate(self.names)}
        self.key = [index[name] for name in schema.primary_key]
        self.parent_key = [index[name] for name in schema.parent_key]
        self.datetimes = [index[c.name] for c in schema.columns if c.type is ColumnType.DATETIME]
        self.source_ts = (
            index[schema.source_updated_at] if schema.source_updated_at is not None else None
        )

    def values(self, source: Row) -> Values:
        try:
            values = list(self._fetch(source))
        except KeyError as exc:
            raise BatchError(
                f"a row of table {self.schema.name!r} lacks column {exc.args[0]!r}"
            ) from None
        for position in self.datetimes:
            value = values[position]
            if value is not None and value.tzinfo is not UTC:
                values[position] = to_utc(value)
        return values


def _keep_incoming(incoming: datetime | None, kept: datetime | None) -> bool:
    """Later row wins unless it is known to be older."""
    return incoming is None or kept is None or incoming >= kept


def _dedupe_roots(
    layout: _Layout, rows: list[Row]
) -> tuple[dict[Key, tuple[Values, datetime | None]], set[Key]]:
    kept: dict[Key, tuple[Values, datetime | None]] = {}
    repeated: set[Key] = set()
    key_positions = layout.key
    single = key_positions[0] if len(key_positions) == 1 else None
    ts_position = layout.source_ts
    for source in rows:
        values = layout.values(source)
        key = (values[single],) if single is not None else tuple(values[i] for i in key_positions)
        ts = values[ts_position] if ts_position is not None else None
        current = kept.get(key)
        if current is not None:
            repeated.add(key)
            if not _keep_incoming(ts, current[1]):
                continue
        kept[key] = (values, ts)
    return kept, repeated


def _dedupe_children(
    layout: _Layout, rows: list[Row], parent: PreparedTable
) -> tuple[dict[Key, tuple[Values, datetime | None]], set[Key]]:
    kept: dict[Key, tuple[Values, datetime | None]] = {}
    repeated: set[Key] = set()
    parent_ts_index = parent.source_ts_index
    for source in rows:
        values = layout.values(source)
        parent_key = tuple(values[i] for i in layout.parent_key)
        parent_row = parent.by_key.get(parent_key)
        if parent_row is None:
            raise BatchError(
                f"a row of child table {layout.schema.name!r} points to "
                f"{parent.schema.name!r} key {parent_key!r}, which is not in the batch"
            )
        parent_ts = parent_row[parent_ts_index]
        if parent_key in parent.repeated_keys and SOURCE_UPDATED_AT_COLUMN in source:
            own_ts = source[SOURCE_UPDATED_AT_COLUMN]
            if (None if own_ts is None else to_utc(own_ts)) != parent_ts:
                continue  # a child of a parent version that lost the deduplication
        key = tuple(values[i] for i in layout.key)
        if key in kept:
            repeated.add(key)
        kept[key] = (values, parent_ts)
    return kept, repeated


def prepare_batch(
    ordered: Sequence[TableSchema],
    batch: MappedBatch,
    *,
    connection: str,
    run_id: str,
    synced_at: datetime,
) -> dict[str, PreparedTable]:
    """Deduplicated, completed warehouse rows of every table; `ordered` is parents first."""
    names = {schema.name for schema in ordered}
    unknown = set(batch.rows) - names
    if unknown:
        raise BatchError(f"the batch has rows for tables {sorted(unknown)} not in the mapping")
    synced_at = to_utc(synced_at)
    prepared: dict[str, PreparedTable] = {}
    for schema in ordered:
        rows = batch.rows.get(schema.name, [])
        layout = _Layout(schema)
        if schema.parent is None:
            kept, repeated = _dedupe_roots(layout, rows)
        else:
            kept, repeated = _dedupe_children(layout, rows, prepared[schema.parent])
        table = PreparedTable(
            schema,
            (*layout.names, SOURCE_UPDATED_AT_COLUMN, ROW_HASH_COLUMN),
            connection,
            run_id,
            synced_at,
            duplicates=len(rows) - len(kept),
            repeated_keys=repeated,
        )
        append = table.rows.append
        by_key = table.by_key
        for key, (values, ts) in kept.items():
            digest = row_hash(values)
            values.append(ts)
            values.append(digest)
            append(values)
            by_key[key] = values
        prepared[schema.name] = table
    return prepared
