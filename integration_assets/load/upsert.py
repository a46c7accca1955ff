"""`upsert_batch`: one mapped batch into the warehouse, in one transaction.

Inside a single transaction: the rows of every table of the entity (parents guarded by source
timestamp, children replaced with their changed parents), the rejected records into
quarantine, and, when asked, the sync cursor. A crash anywhere (exception, killed process,
lost connection) rolls all of it back: never rows without their cursor or a cursor past rows
that were not written. Preparing rows (dedupe, hashing) happens before the transaction opens,
to keep it short.

Call `ensure_tables` for the tables first (once per run); bookkeeping tables are ensured here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection

from integration_assets.load.bookkeeping import ensure_bookkeeping
from integration_assets.load.errors import database_errors_redacted
from integration_assets.load.quarantine import quarantine_records, resolve_superseded
from integration_assets.load.result import UpsertResult
from integration_assets.load.rows import prepare_batch
from integration_assets.load.state import STATUS_RUNNING, SyncStateStore
from integration_assets.load.tables import parents_first
from integration_assets.load.upsert_postgres import upsert_postgres
from integration_assets.load.upsert_sqlite import upsert_sqlite
from integration_assets.load.warehouse import Warehouse
from integration_assets.schema import MappedBatch, TableSchema, join_key


def upsert_batch(
    warehouse: Warehouse,
    tables: Sequence[TableSchema],
    batch: MappedBatch,
    *,
    connection: str,
    entity: str,
    run_id: str,
    cursor: str | None = None,
    save_cursor: bool = False,
    in_transaction: Callable[[Connection], None] | None = None,
) -> UpsertResult:
    """Upsert `batch` (rows of `tables`, parents first) and return what happened.

    With `save_cursor`, the sync state of (connection, entity) records `cursor` (None keeps
    the saved one), `run_id` and status `running` in the same transaction; the caller saves
    the final status when the run ends. Open quarantine rows of records that now loaded are
    resolved as superseded, and `in_transaction(conn)` (when given) runs last, all in the
    same transaction.

    Raises `TableSchemaError` for invalid tables, `BatchError` for rows that break the mapping
    contract, `NaiveDatetimeError` for timestamps without a time zone, and the driver's
    error (e.g. a NOT NULL violation) from the database, its row values redacted (see
    `errors.py`); in every case nothing is written.
    """
    if not connection or not entity or not run_id:
        raise ValueError("connection, entity and run_id must be non-empty")
    ordered = parents_first(list(tables))
    prepared = prepare_batch(
        ordered, batch, connection=connection, run_id=run_id, synced_at=datetime.now(UTC)
    )
    ensure_bookkeeping(warehouse)
    redacted = database_errors_redacted(f"loading {entity} of connection {connection!r}")
    with redacted, warehouse.begin() as conn:
        if warehouse.dialect == "postgresql":
            counts = upsert_postgres(conn, warehouse.schema, ordered, prepared)
        else:
            counts = upsert_sqlite(conn, ordered, prepared, connection)
        quarantined = quarantine_records(
            conn,
            warehouse.dialect,
            batch.rejected,
            tenant=connection,
            entity=entity,
            run_id=run_id,
        )
        for root in (schema for schema in ordered if schema.parent is None):
            resolve_superseded(
                conn,
                warehouse.dialect,
                tenant=connection,
                entity=entity,
                record_keys=(
                    join_key([row[column] for column in root.primary_key])
                    for row in batch.rows.get(root.name, ())
                ),
            )
        if save_cursor:
            written = sum(
                counts[schema.name].inserted for schema in ordered if schema.parent is None
            )
            SyncStateStore(warehouse).save(
                conn, connection, entity, cursor, run_id, STATUS_RUNNING, rows=written
            )
        if in_transaction is not None:
            in_transaction(conn)
    return UpsertResult(counts, quarantined)
