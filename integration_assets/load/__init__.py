"""Load stage: warehouse access (SQLAlchemy Core), bookkeeping tables, batched upserts and
sync state, on Postgres (often Supabase, possibly behind its transaction-mode pooler) and
SQLite. Knows nothing about vendors, mapping files or Dagster."""

from integration_assets.load.bookkeeping import (
    BOOKKEEPING_SCHEMA,
    SQLITE_PREFIX,
    Bookkeeping,
    bookkeeping,
    bookkeeping_location,
    bookkeeping_table,
    ensure_bookkeeping,
)
from integration_assets.load.identifiers import InvalidIdentifierError, validate_identifier
from integration_assets.load.landing import LandedPage, LandingStore, LandingWriter
from integration_assets.load.result import TableCounts, UpsertResult
from integration_assets.load.rows import BatchError
from integration_assets.load.state import (
    STATUS_FAILED,
    STATUS_RUNNING,
    STATUS_SUCCESS,
    SyncState,
    SyncStateStore,
    parse_cursor,
)
from integration_assets.load.tables import (
    METADATA_COLUMNS,
    SchemaChanges,
    SchemaDriftError,
    TableSchemaError,
    build_table,
    ensure_tables,
)
from integration_assets.load.types import NaiveDatetimeError
from integration_assets.load.upsert import upsert_batch
from integration_assets.load.warehouse import (
    Warehouse,
    WarehouseConfigError,
    normalize_url,
)

__all__ = [
    "BOOKKEEPING_SCHEMA",
    "METADATA_COLUMNS",
    "SQLITE_PREFIX",
    "STATUS_FAILED",
    "STATUS_RUNNING",
    "STATUS_SUCCESS",
    "BatchError",
    "Bookkeeping",
    "InvalidIdentifierError",
    "LandedPage",
    "LandingStore",
    "LandingWriter",
    "NaiveDatetimeError",
    "SchemaChanges",
    "SchemaDriftError",
    "SyncState",
    "SyncStateStore",
    "TableCounts",
    "TableSchemaError",
    "UpsertResult",
    "Warehouse",
    "WarehouseConfigError",
    "bookkeeping",
    "bookkeeping_location",
    "bookkeeping_table",
    "build_table",
    "ensure_bookkeeping",
    "ensure_tables",
    "normalize_url",
    "parse_cursor",
    "upsert_batch",
    "validate_identifier",
]
