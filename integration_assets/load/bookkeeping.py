"""Bookkeeping tables: the framework's own state next to the synced data.

On Postgres they live in the schema `integration`, out of the way of the app's tables; SQLite
has no schemas, so there they are tables prefixed `integration_`. `bookkeeping_table()` hides
that difference; other stages define their bookkeeping tables with it and pass their
`MetaData` to `ensure_bookkeeping` so everything is created under one lock.

Tables defined here:

- `sync_state`: the saved cursor and last run of each (connection, entity), and what
  monitoring reads (`sync_state_added_columns`).
- `landing_pages`: raw pages as fetched, so loads can be retried and mappings replayed without
  calling the vendor again. With each page, where its walk goes on (`next_url`: the next
  request's URL, '' after the last page, NULL when unknown) and when the walk began on the
  vendor's clock (`walk_started_at`), so a retried extract resumes instead of restarting. Bodies are ~100 KB-1 MB of JSON: on Postgres the column uses lz4
  TOAST compression when the server has it (measured on PG 15 with 400 KB JSON pages: lz4
  writes at ~230-320 MB/s, uncompressed EXTERNAL storage ~140-200 MB/s, the default pglz
  ~65 MB/s; lz4 is also 3.6x smaller), else uncompressed EXTERNAL storage.
- `quarantine`: records that could not be loaded, with every reason, until resolved; at most
  one open row per (connection, entity, record key) (see `load/quarantine.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.schema import CreateSchema

from integration_assets.load.columns import add_missing_columns
from integration_assets.load.ddl import ddl_transaction
from integration_assets.load.identifiers import validate_identifier
from integration_assets.load.rls import enable_row_level_security
from integration_assets.load.types import JsonDocument, UtcDateTime
from integration_assets.load.warehouse import Dialect, Warehouse

BOOKKEEPING_SCHEMA = "integration"
SQLITE_PREFIX = "integration_"


def bookkeeping_location(dialect: Dialect, name: str) -> tuple[str | None, str]:
    """(schema, table name) of bookkeeping table `name` on this dialect."""
    validate_identifier(name, "bookkeeping table name")
    if dialect == "postgresql":
        return BOOKKEEPING_SCHEMA, name
    return None, validate_identifier(SQLITE_PREFIX + name, "bookkeeping table name")


def bookkeeping_table(
    metadata: MetaData, dialect: Dialect, name: str, *items: Any, **kwargs: Any
) -> Table:
    """Define bookkeeping table `name` (schema or prefix chosen for the dialect).

    Index names given in `items` are used as they are; make them unique per database (SQLite
    index names are global), e.g. by starting them with the table name.
    """
    schema, table_name = bookkeeping_location(dialect, name)
    return Table(table_name, metadata, *items, schema=schema, **kwargs)


def quarantine_added_columns() -> list[Column[Any]]:
    """Quarantine columns added after the first release, nullable so that existing tables
    can gain them (`add_missing_columns`): `dedupe_key` (the record key, else `hash:` and
    the raw record's hash) has at most one open row, re-reads bump `seen_count`."""
    return [
        Column("dedupe_key", Text, nullable=True),
        Column("record_hash", Text, nullable=True),
        Column("last_seen_at", UtcDateTime, nullable=True),
        Column("seen_count", Integer, nullable=True, server_default=text("1")),
        Column("resolution", Text, nullable=True),
    ]


def sync_state_added_columns() -> list[Column[Any]]:
    """Sync state columns added for monitoring (`integration_assets/monitoring/`), nullable so
    existing tables gain them (`add_missing_columns`). Written by `sync/steps.py`:

    - `started_at`: when the latest run began (with `last_status` `running`, a run in flight);
    - `last_success_run_id`, `last_records`, `last_records_per_second`: the latest successful
      sync, its records and speed (records over extract plus load seconds);
    - `newest_source_at`: the newest source timestamp synced (the cursor field's maximum, no
      later than the moment it was recorded), for the sync lag;
    - `last_error`, `last_error_at`, `last_error_run_id`: the latest failure, its message
      (class and text, personal data masked, already free of secrets) and its run.
    """
    return [
        Column("started_at", UtcDateTime, nullable=True),
        Column("last_success_run_id", Text, nullable=True),
        Column("last_records", BigInteger, nullable=True),
        Column("last_records_per_second", Double, nullable=True),
        Column("newest_source_at", UtcDateTime, nullable=True),
        Column("last_error", Text, nullable=True),
        Column("last_error_at", UtcDateTime, nullable=True),
        Column("last_error_run_id", Text, nullable=True),
    ]


def _upgrade_quarantine(connection: Connection, quarantine: Table) -> None:
    """Bring a quarantine table made by an older version up to date; idempotent.

    Rows quarantined before keep `dedupe_key` NULL (NULLs never collide in the unique
    index), so older duplicates cannot block the upgrade; they can still be replayed.
    """
    # In the same DDL transaction as the columns: once they exist, so do the indexes.
    if add_missing_columns(connection, quarantine):
        for index in quarantine.indexes:
            index.create(connection, checkfirst=True)


@dataclass(frozen=True)
class Bookkeeping:
    """The load stage's bookkeeping tables on one dialect."""

    metadata: MetaData
    sync_state: Table
    landing_pages: Table
    quarantine: Table


@cache
def bookkeeping(dialect: Dialect) -> Bookkeeping:
    """The bookkeeping `Table`s for `dialect` (built once per process)."""
    metadata = MetaData()
    sync_state = bookkeeping_table(
        metadata,
        dialect,
        "sync_state",
        Column("connection", Text, primary_key=True),
        Column("entity", Text, primary_key=True),
        Column("cursor", Text, nullable=True),
        Column("cursor_updated_at", UtcDateTime, nullable=True),
        Column("last_run_id", Text, nullable=True),
        Column("last_status", Text, nullable=True),
        Column("last_synced_at", UtcDateTime, nullable=True),
        Column("rows_total", BigInteger, nullable=False, server_default=text("0")),
        Column("updated_at", UtcDateTime, nullable=False),
        *sync_state_added_columns(),
    )
    landing_pages = bookkeeping_table(
        metadata,
        dialect,
        "landing_pages",
        Column("run_id", Text, primary_key=True),
        Column("connection", Text, primary_key=True),
        Column("entity", Text, primary_key=True),
        Column("page_number", Integer, primary_key=True, autoincrement=False),
        Column("fetched_at", UtcDateTime, nullable=False),
        Column("url", Text, nullable=True),
        Column("record_count", Integer, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("next_url", Text, nullable=True),
        Column("walk_started_at", UtcDateTime, nullable=True),
        Index("integration_landing_pages_fetched_at", "fetched_at"),
    )
    quarantine_id_type = Integer if dialect == "sqlite" else BigInteger
    quarantine = bookkeeping_table(
        metadata,
        dialect,
        "quarantine",
        Column("id", quarantine_id_type, primary_key=True, autoincrement=True),
        Column("connection", Text, nullable=False),
        Column("entity", Text, nullable=False),
        Column("run_id", Text, nullable=False),
        Column("record_key", Text, nullable=True),
        Column("reasons", JsonDocument, nullable=False),
        Column("record", JsonDocument, nullable=False),
        Column("quarantined_at", UtcDateTime, nullable=False),
        Column("resolved_at", UtcDateTime, nullable=True),
        *quarantine_added_columns(),
        Index("integration_quarantine_open", "connection", "entity", "resolved_at"),
        Index(
            "integration_quarantine_one_open",
            "connection",
            "entity",
            "dedupe_key",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
    )
    return Bookkeeping(metadata, sync_state, landing_pages, quarantine)


def _tune_landing_body(connection: Connection, landing_pages: Table) -> None:
    """Use lz4 (or no) TOAST compression for page bodies; see the module docstring."""
    qualified = f"{landing_pages.schema}.{landing_pages.name}"
    row = connection.execute(
        text(
            "SELECT a.attcompression, a.attstorage FROM pg_attribute a "
            "WHERE a.attrelid = CAST(:table AS regclass) AND a.attname = 'body'"
        ),
        {"table": qualified},
    ).one()
    compression, storage = row
    has_lz4 = connection.execute(
        text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
    ).scalar()
    preparer = connection.dialect.identifier_preparer
    table_sql = preparer.format_table(landing_pages)
    if has_lz4:
        if compression != "l":
            connection.execute(
                text(f"ALTER TABLE {table_sql} ALTER COLUMN body SET COMPRESSION lz4")
            )
    elif storage != "e":
        connection.execute(text(f"ALTER TABLE {table_sql} ALTER COLUMN body SET STORAGE EXTERNAL"))


def ensure_bookkeeping(warehouse: Warehouse, *extra: MetaData) -> None:
    """Create the bookkeeping schema and tables that are missing; idempotent.

    Safe to call from several processes at once (see `ddl.py`). `extra` are other stages'
    bookkeeping `MetaData` (tables defined with `bookkeeping_table`), created in the same
    transaction. Every one gets row level security on Postgres (see `rls.py`). Once it
    succeeded for a `Warehouse` without `extra`, later calls return at once.
    """
    if warehouse.bookkeeping_ready and not extra:
        return
    tables = bookkeeping(warehouse.dialect)
    with ddl_transaction(warehouse) as connection:
        if warehouse.dialect == "postgresql":
            connection.execute(CreateSchema(BOOKKEEPING_SCHEMA, if_not_exists=True))
        tables.metadata.create_all(connection, checkfirst=True)
        add_missing_columns(connection, tables.landing_pages)
        add_missing_columns(connection, tables.sync_state)
        for metadata in extra:
            metadata.create_all(connection, checkfirst=True)
        _upgrade_quarantine(connection, tables.quarantine)
        if warehouse.dialect == "postgresql":
            _tune_landing_body(connection, tables.landing_pages)
        for metadata in (tables.metadata, *extra):
            enable_row_level_security(connection, metadata.sorted_tables)
    warehouse.bookkeeping_ready = True
