"""Turning a `MappedBatch` into warehouse rows, before any database work.

Done outside the transaction to keep it short, and on the hot path, so rows become plain
lists (mapped values, source timestamp, hash) in one pass. For each table, parents
first:

- Deduplicate by key: the same record can arrive on two pages of one run (offset pagination
  while records change). Postgres refuses to upsert one key twice in one statement, and the
  right answer is the newest version anyway: keep the row with the newest source timestamp;
  on a tie, or when a timestamp is missing, the later row wins.
- Child rows follow their kept parent: `_source_updated_at` is copied from it. A child row
  names the parent row it was expanded from (`PARENT_ROW`, the very dict the mapping made),
  so when a parent key came more than once only the children of the kept version survive,
  exactly, even when two versions have the same timestamp. Rows built by hand without it may
  carry the `_source_updated_at` of their record instead (older contract); otherwise children
  are deduplicated by their own key, later wins.
- The row hash covers the row's children: `_row_hash` of a parent is the hash of its mapped
  values plus, per child table (by name), the sorted hashes of its child rows (which cover
  theirs). A change only in line items therefore changes the order's hash, the guard lets the
  order through at the same timestamp, and the backends replace its line items.
- Convert datetimes to UTC (refusing naive ones, whose instant is unknown) and add
  `_connection`, `_synced_at`, `_run_id` and `_row_hash`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from integration_assets.load.encoding import row_hash
from integration_assets.load.types import to_utc
from integration_assets.schema import (
    CONNECTION_COLUMN,
    DELETED_AT_COLUMN,
    PARENT_ROW,
    ROW_HASH_COLUMN,
    RUN_ID_COLUMN,
    SOURCE_UPDATED_AT_COLUMN,
    SYNCED_AT_COLUMN,
    ColumnType,
    MappedBatch,
    Row,
    TableSchema,
)

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


def _tuple_getter(positions: Sequence[int]) -> Callable[[Values], Key]:
    """`values -> tuple(values[i] for i in positions)`, as one C-level call."""
    if len(positions) == 1:
        (position,) = positions
        return lambda values: (values[position],)
    if not positions:
        return lambda values: ()
    return itemgetter(*positions)


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
        self.key_of = _tuple_getter(self.key)
        self.parent_key_of = _tuple_getter(self.parent_key)
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


@dataclass
class _Kept:
    """One table's surviving rows of a batch: key -> [values, source timestamp, row dict,
    parent key (children) or None]."""

    rows: dict[Key, list[Any]]
    repeated: set[Key]
    duplicates: int
    # id() of the row dicts that lost (alive in the batch, so ids are unique): their own
    # children must go too, not be taken for orphans.
    dropped: set[int]


def _dedupe_roots(layout: _Layout, rows: list[Row]) -> _Kept:
    kept: dict[Key, list[Any]] = {}
    repeated: set[Key] = set()
    dropped: set[int] = set()
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
                dropped.add(id(source))
                continue
            dropped.add(id(current[2]))
        kept[key] = [values, ts, source, None]
    return _Kept(kept, repeated, len(rows) - len(kept), dropped)


def _dedupe_children(layout: _Layout, rows: list[Row], parent: _Kept, parent_name: str) -> _Kept:
    kept: dict[Key, list[Any]] = {}
    repeated: set[Key] = set()
    dropped: set[int] = set()
    parent_rows = parent.rows
    parent_repeated = parent.repeated
    parent_key_of, key_of = layout.parent_key_of, layout.key_of
    for source in rows:
        values = layout.values(source)
        parent_key = parent_key_of(values)
        parent_entry = parent_rows.get(parent_key)
        owner = source.get(PARENT_ROW)
        if parent_entry is None:
            if owner is not None and id(owner) in parent.dropped:
                dropped.add(id(source))
                continue  # the grandchild of a version that lost
            raise BatchError(
                f"a row of child table {layout.schema.name!r} points to "
                f"{parent_name!r} key {parent_key!r}, which is not in the batch"
            )
        if owner is not None:
            if owner is not parent_entry[2]:
                dropped.add(id(source))
                continue  # a child of a parent version that lost the deduplication
        elif parent_key in parent_repeated and SOURCE_UPDATED_AT_COLUMN in source:
            own_ts = source[SOURCE_UPDATED_AT_COLUMN]
            if (None if own_ts is None else to_utc(own_ts)) != parent_entry[1]:
                continue
        key = key_of(values)
        current = kept.get(key)
        if current is not None:
            repeated.add(key)
            dropped.add(id(current[2]))
        kept[key] = [values, parent_entry[1], source, parent_key]
    return _Kept(kept, repeated, len(rows) - len(kept), dropped)


def _digests_by_parent(kept: _Kept, digests: dict[Key, str]) -> dict[Key, list[str]]:
    """A child table's row hashes grouped by parent key, sorted (row order is not content)."""
    grouped: dict[Key, list[str]] = {}
    for key, entry in kept.rows.items():
        parent_key = entry[3]
        hashes = grouped.get(parent_key)
        if hashes is None:
            grouped[parent_key] = [digests[key]]
        else:
            hashes.append(digests[key])
    for hashes in grouped.values():
        hashes.sort()
    return grouped


def prepare_batch(
    ordered: Sequence[TableSchema],
    batch: MappedBatch,
    *,
    connection: str,
    run_id: str,
    synced_at: datetime,
) -> dict[str, PreparedTable]:
    """Deduplicated, completed warehouse rows of every table; `ordered` is parents first.

    Two passes: parents first to pick the kept version of each key (and, through it, the
    children that survive), then children first to hash, so that a row's hash covers its
    child rows (and theirs) and a change only in line items rewrites the order.
    """
    names = {schema.name for schema in ordered}
    unknown = set(batch.rows) - names
    if unknown:
        raise BatchError(f"the batch has rows for tables {sorted(unknown)} not in the mapping")
    synced_at = to_utc(synced_at)
    layouts: dict[str, _Layout] = {}
    kept: dict[str, _Kept] = {}
    for schema in ordered:
        rows = batch.rows.get(schema.name, [])
        layout = layouts[schema.name] = _Layout(schema)
        if schema.parent is None:
            kept[schema.name] = _dedupe_roots(layout, rows)
        else:
            kept[schema.name] = _dedupe_children(layout, rows, kept[schema.parent], schema.parent)
    children_of: dict[str, list[str]] = {}
    for schema in ordered:
        if schema.parent is not None:
            children_of.setdefault(schema.parent, []).append(schema.name)
    digests: dict[str, dict[Key, str]] = {}
    for schema in reversed(ordered):
        table_kept = kept[schema.name]
        children = sorted(children_of.get(schema.name, ()))
        grouped = [_digests_by_parent(kept[child], digests[child]) for child in children]
        table_digests: dict[Key, str] = {}
        if grouped:
            for key, (values, _, _, _) in table_kept.rows.items():
                table_digests[key] = row_hash([*values, *(g.get(key, []) for g in grouped)])
        else:
            for key, (values, _, _, _) in table_kept.rows.items():
                table_digests[key] = row_hash(values)
        digests[schema.name] = table_digests
    prepared: dict[str, PreparedTable] = {}
    for schema in ordered:
        table_kept = kept[schema.name]
        table = PreparedTable(
            schema,
            (*layouts[schema.name].names, SOURCE_UPDATED_AT_COLUMN, ROW_HASH_COLUMN),
            connection,
            run_id,
            synced_at,
            duplicates=table_kept.duplicates,
            repeated_keys=table_kept.repeated,
        )
        append = table.rows.append
        by_key = table.by_key
        table_digests = digests[schema.name]
        for key, (values, ts, _, _) in table_kept.rows.items():
            values.append(ts)
            values.append(table_digests[key])
            append(values)
            by_key[key] = values
        prepared[schema.name] = table
    return prepared
