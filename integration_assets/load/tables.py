"""Warehouse tables built from the mapping's `TableSchema`s, and their creation.

Every warehouse table has `_connection` first in its primary key (one table holds every
account of a vendor), the mapped columns, then the bookkeeping columns `_source_updated_at`
(the guard of the upsert), `_synced_at`, `_run_id`, `_row_hash` and `_deleted_at` (set by
reconciliation when the vendor no longer has the record, cleared when it is written again;
rows are never dropped for it, see `sync/reconcile.py`); their one definition is in
`integration_assets/schema.py`. A child table is keyed by
`_connection` + its own key, and indexed on `_connection` + its parent key columns, which is
how its rows are found and replaced when the parent changes.

`ensure_tables` creates what is missing, adds columns a mapping gained and (Postgres) drops
NOT NULL from a column the mappings now leave optional. It does not
migrate type changes, dropped columns or key changes: it detects them and raises
`SchemaDriftError`, because silently rewriting a table that an app reads is not ours to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import (
    Column,
    Connection,
    Index,
    MetaData,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.schema import CreateColumn, CreateSchema

from integration_assets.load.columns import existing_columns
from integration_assets.load.ddl import ddl_transaction
from integration_assets.load.identifiers import derived_identifier, validate_identifier
from integration_assets.load.rls import enable_row_level_security
from integration_assets.load.types import column_type
from integration_assets.load.warehouse import Warehouse
from integration_assets.schema import (
    CONNECTION_COLUMN,
    METADATA_COLUMNS,
    TRAILING_METADATA,
    TRAILING_METADATA_COLUMNS,
    ColumnType,
    TableSchema,
)

RESERVED_PREFIX = "_ia_"


class TableSchemaError(ValueError):
    """A `TableSchema` cannot become a warehouse table (bad names, keys, parents)."""


class SchemaDriftError(RuntimeError):
    """An existing warehouse table differs from its mapping in a way we do not migrate."""


def validate_table_schema(schema: TableSchema) -> None:
    """Check names, keys and the guard column of one table; raise `TableSchemaError`."""
    try:
        validate_identifier(schema.name, "table name")
        for column in schema.columns:
            validate_identifier(column.name, f"column name in table {schema.name!r}")
    except ValueError as exc:
        raise TableSchemaError(str(exc)) from None
    names = [column.name for column in schema.columns]
    if len(set(names)) != len(names):
        raise TableSchemaError(f"table {schema.name!r} has duplicate column names")
    for name in names:
        if name in METADATA_COLUMNS or name.startswith(RESERVED_PREFIX):
            raise TableSchemaError(
                f"column {name!r} of table {schema.name!r} clashes with the load stage's own "
                f"columns {METADATA_COLUMNS} or prefix {RESERVED_PREFIX!r}"
            )
    if not schema.primary_key:
        raise TableSchemaError(f"table {schema.name!r} has no primary key")
    for key in (*schema.primary_key, *schema.parent_key):
        if key not in names:
            raise TableSchemaError(f"table {schema.name!r} has no key column {key!r}")
    if schema.source_updated_at is not None:
        if schema.source_updated_at not in names:
            raise TableSchemaError(
                f"table {schema.name!r} has no source timestamp column {schema.source_updated_at!r}"
            )
        if schema.column(schema.source_updated_at).type is not ColumnType.DATETIME:
            raise TableSchemaError(
                f"source timestamp column {schema.source_updated_at!r} of {schema.name!r} "
                "must be a datetime"
            )
    if (schema.parent is None) != (not schema.parent_key):
        raise TableSchemaError(
            f"table {schema.name!r}: a child table names both `parent` and `parent_key`"
        )


def validate_table_family(schemas: Sequence[TableSchema]) -> dict[str, TableSchema]:
    """Check every table and that each child's parent is among them with a matching key."""
    by_name: dict[str, TableSchema] = {}
    for schema in schemas:
        validate_table_schema(schema)
        if schema.name in by_name:
            raise TableSchemaError(f"table {schema.name!r} is given twice")
        by_name[schema.name] = schema
    for schema in schemas:
        if schema.parent is None:
            continue
        parent = by_name.get(schema.parent)
        if parent is None:
            raise TableSchemaError(
                f"child table {schema.name!r} names parent {schema.parent!r}, "
                "which is not among the tables"
            )
        if len(schema.parent_key) != len(parent.primary_key):
            raise TableSchemaError(
                f"child table {schema.name!r}: parent_key {schema.parent_key} does not match "
                f"the primary key {parent.primary_key} of {parent.name!r}"
            )
    return by_name


def parents_first(schemas: Sequence[TableSchema]) -> list[TableSchema]:
    """The tables ordered so that every parent comes before its children."""
    by_name = validate_table_family(schemas)
    ordered: list[TableSchema] = []
    placed: set[str] = set()

    def place(schema: TableSchema, path: tuple[str, ...]) -> None:
        if schema.name in placed:
            return
        if schema.name in path:
            raise TableSchemaError(f"tables {path} form a parent cycle")
        if schema.parent is not None:
            place(by_name[schema.parent], (*path, schema.name))
        placed.add(schema.name)
        ordered.append(schema)

    for schema in schemas:
        place(schema, ())
    return ordered


def column_order(schema: TableSchema) -> tuple[str, ...]:
    """All column names of the warehouse table, in table order."""
    return (
        CONNECTION_COLUMN,
        *(column.name for column in schema.columns),
        *TRAILING_METADATA_COLUMNS,
    )


def key_columns(schema: TableSchema) -> tuple[str, ...]:
    """The warehouse primary key: `_connection` then the vendor key."""
    return (CONNECTION_COLUMN, *schema.primary_key)


def parent_index_name(schema: TableSchema) -> str:
    return derived_identifier(schema.name, "parent")


@lru_cache(maxsize=512)
def build_table(schema: TableSchema, db_schema: str | None = None) -> Table:
    """The SQLAlchemy `Table` for `schema` (each in a `MetaData` of its own; cached)."""
    validate_table_schema(schema)
    if db_schema is not None:
        validate_identifier(db_schema, "warehouse schema")
    key = set(schema.primary_key)
    columns: list[Column] = [Column(CONNECTION_COLUMN, Text, primary_key=True)]
    for column in schema.columns:
        columns.append(
            Column(
                column.name,
                column_type(column.type),
                primary_key=column.name in key,
                nullable=column.nullable and column.name not in key,
                autoincrement=False,
                comment=column.description or None,
            )
        )
    columns += [
        Column(column.name, column_type(column.type), nullable=column.nullable)
        for column in TRAILING_METADATA
    ]
    table = Table(
        schema.name,
        MetaData(),
        *columns,
        schema=db_schema,
        comment=schema.description or None,
    )
    if schema.parent_key:
        Index(
            parent_index_name(schema),
            table.c[CONNECTION_COLUMN],
            *(table.c[k] for k in schema.parent_key),
        )
    return table


@dataclass
class SchemaChanges:
    """What `ensure_tables` changed: tables created and columns added per table."""

    created: list[str] = field(default_factory=list)
    added_columns: dict[str, list[str]] = field(default_factory=dict)
    relaxed_columns: dict[str, list[str]] = field(default_factory=dict)  # NOT NULL dropped

    @property
    def changed(self) -> bool:
        return bool(self.created or self.added_columns or self.relaxed_columns)


def _existing_primary_key(connection: Connection, table: Table) -> tuple[str, ...]:
    if connection.dialect.name == "sqlite":
        preparer = connection.dialect.identifier_preparer
        rows = connection.exec_driver_sql(
            f"PRAGMA table_info({preparer.quote_identifier(table.name)})"
        ).all()
        return tuple(row[1] for row in sorted((r for r in rows if r[5]), key=lambda r: r[5]))
    qualified = connection.dialect.identifier_preparer.format_table(table)
    rows = connection.execute(
        text(
            "SELECT a.attname FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = to_regclass(:table) AND i.indisprimary ORDER BY k.position"
        ),
        {"table": qualified},
    ).all()
    return tuple(row[0] for row in rows)


def _table_exists(connection: Connection, table: Table) -> bool:
    if connection.dialect.name == "postgresql":
        qualified = connection.dialect.identifier_preparer.format_table(table)
        return (
            connection.execute(text("SELECT to_regclass(:table)"), {"table": qualified}).scalar()
            is not None
        )
    return inspect(connection).has_table(table.name)


def _declared_type(connection: Connection, column: Column) -> str:
    return column.type.compile(dialect=connection.dialect).upper()


def _relaxed_columns(connection: Connection, table: Table, existing: dict[str, str]) -> list[str]:
    """Existing NOT NULL columns the table now wants nullable (e.g. an override removed one)."""
    if connection.dialect.name == "sqlite":
        preparer = connection.dialect.identifier_preparer
        rows = connection.exec_driver_sql(
            f"PRAGMA table_info({preparer.quote_identifier(table.name)})"
        ).all()
        not_null = {row[1] for row in rows if row[3]}
    else:
        qualified = connection.dialect.identifier_preparer.format_table(table)
        not_null = set(
            connection.execute(
                text(
                    "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(:table) "
                    "AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull"
                ),
                {"table": qualified},
            ).scalars()
        )
    return [
        column.name
        for column in table.columns
        if column.nullable
        and not column.primary_key
        and column.name in existing
        and column.name in not_null
    ]


def _reconcile(connection: Connection, table: Table, changes: SchemaChanges) -> None:
    """Add missing columns to an existing table; raise on drift we do not migrate."""
    existing = existing_columns(connection, table)
    problems: list[str] = []
    missing: list[Column] = []
    for column in table.columns:
        declared = existing.get(column.name)
        if declared is None:
            missing.append(column)
        elif declared != _declared_type(connection, column):
            problems.append(
                f"column {column.name!r} is {declared} in the warehouse but the mapping now "
                f"makes it {_declared_type(connection, column)}"
            )
    expected = {column.name for column in table.columns}
    for name in existing:
        if name not in expected:
            problems.append(f"column {name!r} is in the warehouse but no longer in the mapping")
    relax = _relaxed_columns(connection, table, existing)
    if relax and connection.dialect.name == "sqlite":
        problems.append(
            f"columns {relax} are NOT NULL in the warehouse but the mappings now let them be "
            "empty (a connection's override lacks them or makes them optional); SQLite cannot "
            "drop NOT NULL in place: rebuild the table without the constraint (or drop it for "
            "a full refresh)"
        )
        relax = []
    current_key = _existing_primary_key(connection, table)
    wanted_key = tuple(column.name for column in table.primary_key.columns)
    if current_key != wanted_key:
        problems.append(
            f"primary key is {current_key} in the warehouse, the mapping says {wanted_key}"
        )
    if problems:
        raise SchemaDriftError(
            f"table {table.fullname!r} does not match its mapping: "
            + "; ".join(problems)
            + ". Type changes, dropped columns and key changes are not migrated automatically: "
            "migrate the table by hand (or drop it for a full refresh) and run again."
        )
    table_sql = connection.dialect.identifier_preparer.format_table(table)
    quote = connection.dialect.identifier_preparer.quote
    for name in relax:
        connection.execute(
            text(f"ALTER TABLE {table_sql} ALTER COLUMN {quote(name)} DROP NOT NULL")
        )
        changes.relaxed_columns.setdefault(table.name, []).append(name)
    for column in missing:
        # Added columns are nullable whatever the mapping says: existing rows have no value.
        addition = Column(column.name, column.type, nullable=True)
        Table(table.name, MetaData(), addition, schema=table.schema)
        column_sql = CreateColumn(addition).compile(dialect=connection.dialect)
        connection.execute(text(f"ALTER TABLE {table_sql} ADD COLUMN {column_sql}"))
        changes.added_columns.setdefault(table.name, []).append(column.name)
    for index in table.indexes:
        index.create(connection, checkfirst=True)


def ensure_tables(warehouse: Warehouse, schemas: Iterable[TableSchema]) -> SchemaChanges:
    """Create missing warehouse tables and add columns the mappings gained.

    Every table gets row level security on Postgres (see `rls.py`). Idempotent and safe to
    run from several processes at once. Raises `TableSchemaError` for
    an invalid schema and `SchemaDriftError` when an existing table changed in a way that
    needs a manual migration.
    """
    ordered = parents_first(list(schemas))
    changes = SchemaChanges()
    with ddl_transaction(warehouse) as connection:
        if warehouse.schema is not None:
            connection.execute(CreateSchema(warehouse.schema, if_not_exists=True))
        for schema in ordered:
            table = build_table(schema, warehouse.schema)
            if _table_exists(connection, table):
                _reconcile(connection, table, changes)
            else:
                table.create(connection)
                changes.created.append(schema.name)
            enable_row_level_security(connection, [table])
    return changes


def row_count(warehouse: Warehouse, schema: TableSchema, connection: str) -> int:
    """Rows of `schema`'s table that belong to one connection (0 if the table is missing)."""
    table = build_table(schema, warehouse.schema)
    with warehouse.read() as conn:
        if not _table_exists(conn, table):
            return 0
        query = (
            select(func.count()).select_from(table).where(table.c[CONNECTION_COLUMN] == connection)
        )
        return int(conn.execute(query).scalar_one())
