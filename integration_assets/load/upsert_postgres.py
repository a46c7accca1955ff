"""The Postgres upsert: `COPY` into temporary tables, then set-based SQL.

Per table, inside the caller's transaction:

1. `CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT <columns> FROM target WITH NO DATA`
   and binary `COPY` the batch's rows into it with psycopg's `write_row`, the fastest way
   into Postgres (JSON travels as text and is cast in step 2). Only the per-row columns are
   copied (mapped values, `_source_updated_at`, `_row_hash`); `_connection`, `_synced_at`
   and `_run_id` are one parameter each in the INSERT instead of being in every COPY row.
2. Root tables: `INSERT INTO target SELECT … FROM stage ON CONFLICT (key) DO UPDATE … WHERE
   <guard>`. `RETURNING (xmax = 0)` tells inserts from updates; a wrapping `SELECT count(*)`
   keeps the returned rows on the server. When the table has child tables, the keys of the
   written rows also go into a temp table `changed` in the same statement.
3. Child tables, when their parent had written rows: delete the rows of changed parents, then
   insert the staged rows of changed parents. Children of stale or unchanged parents are not
   touched. A child table with children of its own records the keys it deleted and wrote.

Temp tables are `ON COMMIT DROP` and nothing else is session state, so this works through a
transaction-mode pooler. Identifiers are validated (`tables.py`) and always quoted; no value
is ever formatted into SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from integration_assets.load.encoding import dumps_json_str
from integration_assets.load.errors import redact_database_error
from integration_assets.load.guard import postgres_guard_sql
from integration_assets.load.identifiers import derived_identifier
from integration_assets.load.result import TableCounts
from integration_assets.load.rows import PreparedTable
from integration_assets.load.tables import column_order, key_columns
from integration_assets.schema import (
    CONNECTION_COLUMN,
    DELETED_AT_COLUMN,
    RUN_ID_COLUMN,
    SOURCE_UPDATED_AT_COLUMN,
    SYNCED_AT_COLUMN,
    ColumnType,
    TableSchema,
)

logger = logging.getLogger(__name__)

Quote = Callable[[str], str]
Converter = Callable[[Any], Any]
# Values psycopg would not send as we want; datetimes are already UTC (see rows.py).
_CONVERTERS: dict[ColumnType, Converter] = {ColumnType.JSON: dumps_json_str}
_COPY_TYPES: dict[ColumnType, str] = {
    ColumnType.STRING: "text",
    ColumnType.INTEGER: "int8",
    ColumnType.FLOAT: "float8",
    ColumnType.DECIMAL: "numeric",
    ColumnType.BOOLEAN: "bool",
    ColumnType.DATE: "date",
    ColumnType.DATETIME: "timestamptz",
    ColumnType.JSON: "text",
}


@dataclass(frozen=True)
class _TableSql:
    """Quoted names and column lists of one table."""

    schema: TableSchema
    target: str
    stage: str
    changed: str
    staged: str  # the columns COPY writes (`PreparedTable.columns`)
    stage_columns: str  # the stage's columns, as selected from the target
    copy_types: tuple[str, ...]  # Postgres types of the staged columns, for binary COPY
    insert_columns: str  # every column of the target
    select_list: str  # the same, from stage `s` and the batch's constants
    keys: tuple[str, ...]
    key_list: str
    updates: str
    converters: tuple[tuple[int, Converter], ...]


def _table_sql(
    schema: TableSchema, db_schema: str | None, quote: Quote, staged: Sequence[str]
) -> _TableSql:
    """SQL pieces for `schema`; `staged` are the columns of the prepared rows, in order."""
    keys = key_columns(schema)
    types = {column.name: column.type for column in schema.columns}
    constants = {
        CONNECTION_COLUMN: "CAST(%(connection)s AS text)",
        SYNCED_AT_COLUMN: "CAST(%(synced_at)s AS timestamptz)",
        RUN_ID_COLUMN: "CAST(%(run_id)s AS text)",
        DELETED_AT_COLUMN: "CAST(NULL AS timestamptz)",  # a row written again is not deleted
    }
    columns = column_order(schema)
    staged_types = {**types, SOURCE_UPDATED_AT_COLUMN: ColumnType.DATETIME}

    def from_stage(name: str) -> str:
        if types.get(name) is ColumnType.JSON:
            return f"CAST(s.{quote(name)} AS jsonb)"
        return f"s.{quote(name)}"

    def stage_column(name: str) -> str:
        if types.get(name) is ColumnType.JSON:
            return f"CAST({quote(name)} AS text) AS {quote(name)}"
        return quote(name)

    return _TableSql(
        schema=schema,
        target=(f"{quote(db_schema)}." if db_schema else "") + quote(schema.name),
        stage=quote(derived_identifier("_ia_stage", schema.name)),
        changed=quote(derived_identifier("_ia_changed", schema.name)),
        staged=", ".join(quote(name) for name in staged),
        stage_columns=", ".join(stage_column(name) for name in staged),
        copy_types=tuple(_COPY_TYPES[staged_types.get(name, ColumnType.STRING)] for name in staged),
        insert_columns=", ".join(quote(name) for name in columns),
        select_list=", ".join(constants.get(name) or from_stage(name) for name in columns),
        keys=keys,
        key_list=", ".join(quote(name) for name in keys),
        updates=", ".join(
            f"{quote(name)} = EXCLUDED.{quote(name)}" for name in columns if name not in keys
        ),
        converters=tuple(
            (index, _CONVERTERS[types[name]])
            for index, name in enumerate(staged)
            if types.get(name) in _CONVERTERS
        ),
    )


def _parent_join(child: TableSchema, parent: TableSchema, quote: Quote, c: str, p: str) -> str:
    pairs = zip(child.parent_key, parent.primary_key, strict=True)
    return " AND ".join(f"{c}.{quote(mine)} = {p}.{quote(theirs)}" for mine, theirs in pairs)


def _keep_keys_sql(sql: _TableSql, source: str, quote: Quote) -> str:
    """A data-modifying CTE saving the keys returned by CTE `source` into `changed`."""
    columns = ", ".join(f"{source}.{quote(name)}" for name in sql.keys)
    return f", kept AS (INSERT INTO {sql.changed} ({sql.key_list}) SELECT {columns} FROM {source})"


def _stage(cursor: psycopg.Cursor[Any], sql: _TableSql, rows: Sequence[list[Any]]) -> None:
    """Create the stage table and COPY the rows into it.

    Binary COPY is 20-30% faster end to end than text (measured with bench/load_throughput.py)
    but refuses a value whose Python type does not match the column (a float for a decimal,
    an int for a string). Text COPY lets the server convert those, like the SQLite path does;
    so a batch with such values is staged again in text, inside a savepoint, with a warning.
    """
    cursor.execute("SAVEPOINT _ia_stage")
    try:
        _copy_rows(cursor, sql, rows, binary=True)
    except (TypeError, ValueError, OverflowError) as exc:
        cursor.execute("ROLLBACK TO SAVEPOINT _ia_stage")
        logger.warning(  # the exception's class only: its text may quote a customer's value
            "table %s: a value does not have the Python type of its column (%s); "
            "loading this batch through text COPY, which is slower",
            sql.schema.name,
            type(exc).__name__,
        )
        _copy_rows(cursor, sql, rows, binary=False)
    cursor.execute("RELEASE SAVEPOINT _ia_stage")


def _copy_rows(
    cursor: psycopg.Cursor[Any], sql: _TableSql, rows: Sequence[list[Any]], *, binary: bool
) -> None:
    # CREATE TABLE AS copies no constraints: NOT NULL is checked when rows reach the target.
    cursor.execute(
        f"CREATE TEMP TABLE {sql.stage} ON COMMIT DROP AS "
        f"SELECT {sql.stage_columns} FROM {sql.target} WITH NO DATA"
    )
    statement = f"COPY {sql.stage} ({sql.staged}) FROM STDIN"
    converters = sql.converters
    with cursor.copy(statement + (" (FORMAT BINARY)" if binary else "")) as copy:
        if binary:
            copy.set_types(list(sql.copy_types))
        write_row = copy.write_row
        if not converters:
            for row in rows:
                write_row(row)
            return
        for row in rows:
            values = row.copy()
            for index, convert in converters:
                value = values[index]
                if value is not None:
                    values[index] = convert(value)
            write_row(values)


def _create_changed(cursor: psycopg.Cursor[Any], sql: _TableSql) -> None:
    cursor.execute(
        f"CREATE TEMP TABLE {sql.changed} ON COMMIT DROP AS "
        f"SELECT {sql.key_list} FROM {sql.target} WITH NO DATA"
    )


def _upsert_from_stage(
    cursor: psycopg.Cursor[Any],
    sql: _TableSql,
    quote: Quote,
    constants: dict[str, Any],
    *,
    guarded: bool,
    parent: _TableSql | None,
    track: bool,
) -> tuple[int, int]:
    """Insert/update target from stage; returns (inserted, updated)."""
    t = quote("t")
    source = f"SELECT {sql.select_list} FROM {sql.stage} AS s"
    if parent is not None:
        # `changed` only holds keys of this batch's connection.
        join = _parent_join(sql.schema, parent.schema, quote, "s", "k")
        source += f" WHERE EXISTS (SELECT 1 FROM {parent.changed} AS k WHERE {join})"
    conflict = f"ON CONFLICT ({sql.key_list}) DO UPDATE SET {sql.updates}"
    if guarded:
        conflict += f" WHERE {postgres_guard_sql(t, quote)}"
    returning = ", ".join(f"{t}.{quote(name)}" for name in sql.keys)
    statement = (
        f"WITH up AS (INSERT INTO {sql.target} AS {t} ({sql.insert_columns}) {source} "
        f"{conflict} RETURNING ({t}.xmax = 0) AS _ia_inserted, {returning})"
    )
    if track:
        statement += _keep_keys_sql(sql, "up", quote)
    statement += (
        " SELECT count(*) FILTER (WHERE _ia_inserted), count(*) FILTER (WHERE NOT _ia_inserted)"
        " FROM up"
    )
    inserted, updated = cursor.execute(statement, constants).fetchone() or (0, 0)
    return int(inserted), int(updated)


def _delete_children(
    cursor: psycopg.Cursor[Any], sql: _TableSql, parent: _TableSql, quote: Quote, *, track: bool
) -> int:
    c = quote("c")
    join = _parent_join(sql.schema, parent.schema, quote, c, "k")
    connection = quote(CONNECTION_COLUMN)
    returning = ", ".join(f"{c}.{quote(name)}" for name in sql.keys)
    statement = (
        f"WITH gone AS (DELETE FROM {sql.target} AS {c} USING {parent.changed} AS k "
        f"WHERE {c}.{connection} = k.{connection} AND {join} RETURNING {returning})"
    )
    if track:
        statement += _keep_keys_sql(sql, "gone", quote)
    row = cursor.execute(statement + " SELECT count(*) FROM gone").fetchone()
    return int(row[0]) if row else 0


def _driver_connection(connection: Connection) -> psycopg.Connection[Any]:
    raw = connection.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError("the Postgres upsert needs the psycopg 3 driver (postgresql+psycopg://)")
    return raw


def upsert_postgres(
    connection: Connection,
    db_schema: str | None,
    ordered: Sequence[TableSchema],
    prepared: dict[str, PreparedTable],
) -> dict[str, TableCounts]:
    """Write the prepared rows of every table (parents first) in `connection`'s transaction.

    Driver errors are re-raised as SQLAlchemy's (`IntegrityError`, `DataError` …), as on
    SQLite, naming the table that failed, with row values redacted (see `errors.py`).
    """
    quote: Quote = connection.dialect.identifier_preparer.quote_identifier
    sqls = {
        schema.name: _table_sql(schema, db_schema, quote, prepared[schema.name].columns)
        for schema in ordered
    }
    parents = {schema.parent for schema in ordered if schema.parent is not None}
    with_changes: set[str] = set()
    counts: dict[str, TableCounts] = {}
    current = ""
    try:
        with _driver_connection(connection).cursor() as cursor:
            for schema in ordered:
                current = schema.name
                parent = sqls[schema.parent] if schema.parent is not None else None
                if parent is not None and parent.schema.name not in with_changes:
                    table = prepared[schema.name]
                    counts[current] = TableCounts(
                        unchanged=len(table.rows), duplicates=table.duplicates
                    )
                    continue
                track = schema.name in parents
                counts[current] = _write_table(
                    cursor, sqls[current], prepared[current], parent, quote, track=track
                )
                if track and (counts[current].written or counts[current].deleted):
                    with_changes.add(current)
    except psycopg.Error as exc:
        error = redact_database_error(
            DBAPIError.instance(None, None, exc, psycopg.Error), f"upsert into table {current!r}"
        )
    else:
        return counts
    raise error  # outside the handler: no chained cause carries the driver's DETAIL


def _write_table(
    cursor: psycopg.Cursor[Any],
    sql: _TableSql,
    table: PreparedTable,
    parent: _TableSql | None,
    quote: Quote,
    *,
    track: bool,
) -> TableCounts:
    """Upsert a root table, or replace a child table's rows of changed parents."""
    rows = table.rows
    inserted = updated = deleted = 0
    if track:
        _create_changed(cursor, sql)
    if parent is not None:
        deleted = _delete_children(cursor, sql, parent, quote, track=track)
    if rows:
        _stage(cursor, sql, rows)
        constants = {
            "connection": table.connection,
            "synced_at": table.synced_at,
            "run_id": table.run_id,
        }
        inserted, updated = _upsert_from_stage(
            cursor, sql, quote, constants, guarded=parent is None, parent=parent, track=track
        )
    return TableCounts(
        inserted=inserted,
        updated=updated,
        unchanged=len(rows) - inserted - updated,
        deleted=deleted,
        duplicates=table.duplicates,
    )
