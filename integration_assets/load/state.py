"""Sync state: the saved cursor and last run of each (connection, entity).

The cursor is kept as the vendor's own string (an `updated_at` timestamp for Shopify and
Klaviyo, but it may be an opaque token) and offered parsed as an aware datetime when it is
one. `save` takes the caller's open connection so the cursor moves in the same transaction
as the rows it covers: a crash leaves both old or both new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Table, case, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from integration_assets.load.bookkeeping import bookkeeping, ensure_bookkeeping
from integration_assets.load.warehouse import Warehouse
from integration_assets.timestamps import parse_instant

STATUS_RUNNING = "running"
STATUS_SUCCESS = "success"
STATUS_FAILED = "failed"


def parse_cursor(cursor: str | None) -> datetime | None:
    """The cursor as an aware UTC datetime, or None if it is not a timestamp (a token).

    The project's one rule (`integration_assets/timestamps.py`): an offset or `Z` is needed.
    The cursor tracker always saves one; a cursor without one (edited by hand) is an unknown
    instant, read as no cursor, so the next sync reads everything rather than skip anything.
    """
    return parse_instant(cursor.strip()) if cursor else None


@dataclass(frozen=True)
class SyncState:
    """The saved state of one (connection, entity)."""

    connection: str
    entity: str
    cursor: str | None
    cursor_updated_at: datetime | None
    last_run_id: str | None
    last_status: str | None
    last_synced_at: datetime | None
    rows_total: int
    updated_at: datetime
    started_at: datetime | None = None
    last_success_run_id: str | None = None
    last_records: int | None = None
    last_records_per_second: float | None = None
    newest_source_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_error_run_id: str | None = None

    @property
    def cursor_at(self) -> datetime | None:
        """The cursor as an aware UTC datetime, when it is a timestamp."""
        return parse_cursor(self.cursor)


def _is_behind(conn: Connection, table: Table, connection: str, entity: str, cursor: str) -> bool:
    """Whether timestamp `cursor` is older than the saved timestamp cursor (read in `conn`)."""
    new_at = parse_cursor(cursor)
    if new_at is None:
        return False
    saved = conn.execute(
        select(table.c.cursor).where(table.c.connection == connection, table.c.entity == entity)
    ).scalar_one_or_none()
    saved_at = parse_cursor(saved)
    return saved_at is not None and new_at < saved_at


class SyncStateStore:
    """Reads and writes the `sync_state` bookkeeping table."""

    def __init__(self, warehouse: Warehouse) -> None:
        self._warehouse = warehouse
        self._table = bookkeeping(warehouse.dialect).sync_state

    def get(self, connection: str, entity: str) -> SyncState | None:
        """The saved state, or None if this (connection, entity) never saved one."""
        ensure_bookkeeping(self._warehouse)
        table = self._table
        with self._warehouse.read() as conn:
            row = (
                conn.execute(
                    select(table).where(table.c.connection == connection, table.c.entity == entity)
                )
                .mappings()
                .one_or_none()
            )
        return None if row is None else SyncState(**row)

    def all(self) -> list[SyncState]:
        """Every saved state, ordered by connection and entity (what monitoring shows)."""
        ensure_bookkeeping(self._warehouse)
        table = self._table
        with self._warehouse.read() as conn:
            rows = conn.execute(select(table).order_by(table.c.connection, table.c.entity))
            return [SyncState(**row) for row in rows.mappings()]

    def _upsert(self, conn: Connection, connection: str, entity: str, **values: object) -> None:
        """Insert the row with `values`, or update only `values` on the existing row."""
        now = datetime.now(UTC)
        make_insert = postgres_insert if self._warehouse.dialect == "postgresql" else sqlite_insert
        row = {"connection": connection, "entity": entity, "updated_at": now, **values}
        statement = make_insert(self._table).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=[self._table.c.connection, self._table.c.entity],
            set_={name: statement.excluded[name] for name in [*values, "updated_at"]},
        )
        conn.execute(statement)

    def mark_started(self, connection: str, entity: str, run_id: str) -> None:
        """A run of (connection, entity) began: `running` from now, in a transaction of its own."""
        ensure_bookkeeping(self._warehouse)
        with self._warehouse.begin() as conn:
            self._upsert(
                conn,
                connection,
                entity,
                last_run_id=run_id,
                last_status=STATUS_RUNNING,
                started_at=datetime.now(UTC),
            )

    def record_success(
        self,
        connection: str,
        entity: str,
        run_id: str,
        *,
        records: int,
        records_per_second: float,
        newest_source_at: datetime | None,
    ) -> None:
        """The run succeeded: status, time, speed and (when known) the newest source timestamp.

        The cursor is left as the batches saved it; an unknown `newest_source_at` keeps the
        saved one (an entity without a cursor field never has one).
        """
        now = datetime.now(UTC)
        values: dict[str, object] = {
            "last_run_id": run_id,
            "last_status": STATUS_SUCCESS,
            "last_synced_at": now,
            "last_success_run_id": run_id,
            "last_records": records,
            "last_records_per_second": records_per_second,
        }
        if newest_source_at is not None:
            values["newest_source_at"] = min(newest_source_at, now)
        ensure_bookkeeping(self._warehouse)
        with self._warehouse.begin() as conn:
            self._upsert(conn, connection, entity, **values)

    def record_failure(self, connection: str, entity: str, run_id: str, message: str) -> None:
        """The run failed with `message` (free of secrets and personal data: the caller's job)."""
        ensure_bookkeeping(self._warehouse)
        with self._warehouse.begin() as conn:
            self._upsert(
                conn,
                connection,
                entity,
                last_run_id=run_id,
                last_status=STATUS_FAILED,
                last_error=message,
                last_error_at=datetime.now(UTC),
                last_error_run_id=run_id,
            )

    def save(
        self,
        conn: Connection,
        connection: str,
        entity: str,
        cursor: str | None,
        run_id: str,
        status: str,
        *,
        rows: int = 0,
    ) -> None:
        """Record a run's progress in `conn`'s transaction (committed by the caller).

        `cursor=None` keeps the saved cursor (use `reset` to clear it). A timestamp cursor
        older than the saved one also keeps it: a cursor never moves backwards, whatever order
        two runs finish in (only `reset` moves it back). `rows` is added to `rows_total`.
        `last_synced_at` moves only when `status` is `success`.
        """
        now = datetime.now(UTC)
        table = self._table
        if cursor is not None and _is_behind(conn, table, connection, entity, cursor):
            cursor = None
        values = {
            "connection": connection,
            "entity": entity,
            "cursor": cursor,
            "cursor_updated_at": now if cursor is not None else None,
            "last_run_id": run_id,
            "last_status": status,
            "last_synced_at": now if status == STATUS_SUCCESS else None,
            "rows_total": rows,
            "updated_at": now,
        }
        make_insert = postgres_insert if self._warehouse.dialect == "postgresql" else sqlite_insert
        statement = make_insert(table).values(values)
        new = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.connection, table.c.entity],
            set_={
                "cursor": case((new.cursor.is_not(None), new.cursor), else_=table.c.cursor),
                "cursor_updated_at": case(
                    (new.cursor.is_not(None), new.cursor_updated_at),
                    else_=table.c.cursor_updated_at,
                ),
                "last_run_id": new.last_run_id,
                "last_status": new.last_status,
                "last_synced_at": case(
                    (new.last_synced_at.is_not(None), new.last_synced_at),
                    else_=table.c.last_synced_at,
                ),
                "rows_total": table.c.rows_total + new.rows_total,
                "updated_at": new.updated_at,
            },
        )
        conn.execute(statement)

    def reset(self, connection: str, entity: str, *, conn: Connection | None = None) -> None:
        """Forget the cursor (full refresh): the next run reads everything again.

        Runs in `conn`'s transaction when given, else in a transaction of its own.
        """
        ensure_bookkeeping(self._warehouse)
        table = self._table
        statement = (
            update(table)
            .where(table.c.connection == connection, table.c.entity == entity)
            .values(cursor=None, cursor_updated_at=None, updated_at=datetime.now(UTC))
        )
        if conn is not None:
            conn.execute(statement)
            return
        with self._warehouse.begin() as own:
            own.execute(statement)
