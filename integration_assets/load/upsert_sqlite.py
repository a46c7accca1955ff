"""The SQLite upsert: read the stored versions, decide in Python, `executemany` the writes.

SQLite has no `COPY` and no `xmax`, but the transaction holds the database write lock from
its first statement (`BEGIN IMMEDIATE`, see `warehouse.py`), so reading the stored
(`_source_updated_at`, `_row_hash`) of the batch's keys and deciding with the same guard as
Postgres (`guard.should_write`) is exact. Only rows that will be inserted or updated are sent;
the statement still carries the guard in `ON CONFLICT … DO UPDATE … WHERE` as a safety net.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, delete, select, tuple_
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from integration_assets.load.guard import should_write, sqlite_guard
from integration_assets.load.result import TableCounts
from integration_assets.load.rows import Key, PreparedTable, Values
from integration_assets.load.tables import build_table, key_columns
from integration_assets.schema import (
    CONNECTION_COLUMN,
    DELETED_AT_COLUMN,
    ROW_HASH_COLUMN,
    SOURCE_UPDATED_AT_COLUMN,
    TableSchema,
)

# Keys per IN (…) query: well below SQLite's bound-parameter limit for composite keys.
KEYS_PER_QUERY = 400


def _chunks(keys: Sequence[Key]) -> Iterator[Sequence[Key]]:
    for start in range(0, len(keys), KEYS_PER_QUERY):
        yield keys[start : start + KEYS_PER_QUERY]


def _key_filter(table: Table, names: Sequence[str], keys: Sequence[Key]) -> ColumnElement[bool]:
    if len(names) == 1:
        return table.c[names[0]].in_([key[0] for key in keys])
    return tuple_(*(table.c[name] for name in names)).in_(list(keys))


def _stored_versions(
    connection: Connection, table: Table, schema: TableSchema, tenant: str, keys: Sequence[Key]
) -> dict[Key, tuple[Any, str, bool]]:
    names = schema.primary_key
    stored: dict[Key, tuple[Any, str, bool]] = {}
    columns = [table.c[name] for name in names]
    metadata = (
        table.c[SOURCE_UPDATED_AT_COLUMN],
        table.c[ROW_HASH_COLUMN],
        table.c[DELETED_AT_COLUMN].is_not(None),
    )
    for chunk in _chunks(keys):
        query = select(*columns, *metadata).where(
            table.c[CONNECTION_COLUMN] == tenant, _key_filter(table, names, chunk)
        )
        for row in connection.execute(query):
            stored[tuple(row[: len(names)])] = (row[-3], row[-2], bool(row[-1]))
    return stored


def _upsert_statement(table: Table, schema: TableSchema, *, guarded: bool) -> Any:
    statement = sqlite_insert(table)
    keys = key_columns(schema)
    return statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in keys],
        set_={
            column.name: statement.excluded[column.name]
            for column in table.columns
            if column.name not in keys
        },
        where=sqlite_guard(table, statement.excluded) if guarded else None,
    )


def _upsert_root(
    connection: Connection, table: Table, prepared: PreparedTable, tenant: str
) -> tuple[TableCounts, set[Key]]:
    schema = prepared.schema
    stored = _stored_versions(connection, table, schema, tenant, list(prepared.by_key))
    writes: list[Values] = []
    written: set[Key] = set()
    inserted = updated = 0
    ts_index, hash_index = prepared.source_ts_index, prepared.hash_index
    for key, row in prepared.by_key.items():
        version = stored.get(key)
        if version is None:
            inserted += 1
        elif should_write(row[ts_index], row[hash_index], *version):
            updated += 1
        else:
            continue
        writes.append(row)
        written.add(key)
    if writes:
        connection.execute(_upsert_statement(table, schema, guarded=True), prepared.dicts(writes))
    counts = TableCounts(
        inserted=inserted,
        updated=updated,
        unchanged=len(prepared.rows) - len(writes),
        duplicates=prepared.duplicates,
    )
    return counts, written


def _replace_children(
    connection: Connection,
    table: Table,
    prepared: PreparedTable,
    tenant: str,
    changed_parents: set[Key],
    *,
    track: bool,
) -> tuple[TableCounts, set[Key]]:
    schema = prepared.schema
    parent_keys = sorted(changed_parents, key=repr)
    touched: set[Key] = set()
    deleted = 0
    for chunk in _chunks(parent_keys):
        where = (
            table.c[CONNECTION_COLUMN] == tenant,
            _key_filter(table, schema.parent_key, chunk),
        )
        if track:
            columns = [table.c[name] for name in schema.primary_key]
            touched.update(tuple(row) for row in connection.execute(select(*columns).where(*where)))
        deleted += connection.execute(delete(table).where(*where)).rowcount
    parent_positions = prepared.positions(schema.parent_key)
    key_positions = prepared.positions(schema.primary_key)
    writes = [
        row for row in prepared.rows if tuple(row[i] for i in parent_positions) in changed_parents
    ]
    if writes:
        connection.execute(_upsert_statement(table, schema, guarded=False), prepared.dicts(writes))
        touched.update(tuple(row[i] for i in key_positions) for row in writes)
    counts = TableCounts(
        inserted=len(writes),
        unchanged=len(prepared.rows) - len(writes),
        deleted=deleted,
        duplicates=prepared.duplicates,
    )
    return counts, touched


def upsert_sqlite(
    connection: Connection,
    ordered: Sequence[TableSchema],
    prepared: dict[str, PreparedTable],
    tenant: str,
) -> dict[str, TableCounts]:
    """Write the prepared rows of every table (parents first) in `connection`'s transaction."""
    parents = {schema.parent for schema in ordered if schema.parent is not None}
    changed: dict[str, set[Key]] = {}
    counts: dict[str, TableCounts] = {}
    for schema in ordered:
        table = build_table(schema)
        table_rows = prepared[schema.name]
        if schema.parent is None:
            counts[schema.name], changed[schema.name] = _upsert_root(
                connection, table, table_rows, tenant
            )
        elif changed.get(schema.parent):
            counts[schema.name], changed[schema.name] = _replace_children(
                connection,
                table,
                table_rows,
                tenant,
                changed[schema.parent],
                track=schema.name in parents,
            )
        else:
            counts[schema.name] = TableCounts(
                unchanged=len(table_rows.rows), duplicates=table_rows.duplicates
            )
            changed[schema.name] = set()
    return counts
