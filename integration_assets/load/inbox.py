"""The webhook inbox: verified deliveries, stored once, until a sync has taken them in.

The console (`integration_assets/console/`) writes here and answers the vendor 200 only
after the transaction committed, so an acknowledged webhook is never lost; the next step (a
Dagster sensor) reads pending events past its cursor, requests runs and marks them processed.

Why it is shaped this way:

- **Stored once**: `(connection, delivery_id)` is unique and inserts are `ON CONFLICT DO
  NOTHING`, so a vendor's retry of a delivery whose answer was lost adds nothing.
- **Ids committed in order**: a reader that keeps "the last id I saw" must never find a
  smaller id appear later. Postgres hands out sequence values before commit, so two
  concurrent inserts could commit out of order; every inbox write therefore takes a
  transaction-scoped advisory lock (safe behind a transaction-mode pooler) and the writes
  serialise. SQLite already has one writer at a time (`BEGIN IMMEDIATE`).
- **Raw bodies**: the bytes as the vendor sent them (for a batched vendor, each event's JSON),
  compressed by Postgres like landing pages (lz4 TOAST when available).

On Postgres the table is `integration.webhook_inbox`; on SQLite `integration_webhook_inbox`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from integration_assets.load.bookkeeping import bookkeeping_table, ensure_bookkeeping
from integration_assets.load.types import UtcDateTime
from integration_assets.load.warehouse import Dialect, Warehouse

INBOX_TABLE = "webhook_inbox"
INBOX_WRITE_LOCK_KEY = 0x1A_1B0C_5E
"""An arbitrary advisory-lock key meaning "writing the webhook inbox" (see the docstring)."""

Status = Literal["pending", "processed"]


@dataclass(frozen=True)
class InboxEvent:
    """One verified event to store. `entity`/`kind` are None for topics the spec does not map."""

    connection: str
    vendor: str
    topic: str
    delivery_id: str
    body: bytes
    entity: str | None = None
    kind: str | None = None
    record_id: str | None = None
    event_id: str | None = None
    api_version: str | None = None
    triggered_at: datetime | None = None


@dataclass(frozen=True)
class StoredEvent:
    """One inbox row as read back."""

    id: int
    connection: str
    vendor: str
    topic: str
    entity: str | None
    kind: str | None
    record_id: str | None
    delivery_id: str
    event_id: str | None
    api_version: str | None
    received_at: datetime
    triggered_at: datetime | None
    status: str
    processed_at: datetime | None
    body: bytes


@cache
def inbox_table(dialect: Dialect) -> Table:
    """The inbox `Table` for `dialect`, in a `MetaData` of its own (built once per process)."""
    id_type = Integer if dialect == "sqlite" else BigInteger
    return bookkeeping_table(
        MetaData(),
        dialect,
        INBOX_TABLE,
        Column("id", id_type, primary_key=True, autoincrement=True),
        Column("connection", Text, nullable=False),
        Column("vendor", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("entity", Text, nullable=True),
        Column("kind", Text, nullable=True),
        Column("record_id", Text, nullable=True),
        Column("delivery_id", Text, nullable=False),
        Column("event_id", Text, nullable=True),
        Column("api_version", Text, nullable=True),
        Column("received_at", UtcDateTime, nullable=False),
        Column("triggered_at", UtcDateTime, nullable=True),
        Column("status", Text, nullable=False, server_default=text("'pending'")),
        Column("processed_at", UtcDateTime, nullable=True),
        Column("body", LargeBinary, nullable=False),
        Index("integration_webhook_inbox_delivery", "connection", "delivery_id", unique=True),
        Index("integration_webhook_inbox_status", "status", "id"),
    )


def ensure_inbox(warehouse: Warehouse) -> None:
    """Create the inbox (and the other bookkeeping tables) when missing; idempotent."""
    table = inbox_table(warehouse.dialect)
    assert table.metadata is not None
    ensure_bookkeeping(warehouse, table.metadata)
    if warehouse.dialect == "postgresql":
        with warehouse.begin() as connection:
            _compress_bodies(connection, table)


def _compress_bodies(connection: Connection, table: Table) -> None:
    """lz4 TOAST compression for bodies when the server has it (as for landing pages)."""
    has_lz4 = connection.execute(
        text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
    ).scalar()
    current = connection.execute(
        text(
            "SELECT a.attcompression FROM pg_attribute a "
            "WHERE a.attrelid = CAST(:table AS regclass) AND a.attname = 'body'"
        ),
        {"table": f"{table.schema}.{table.name}"},
    ).scalar()
    if has_lz4 and current != "l":
        table_sql = connection.dialect.identifier_preparer.format_table(table)
        connection.execute(text(f"ALTER TABLE {table_sql} ALTER COLUMN body SET COMPRESSION lz4"))


def _row(event: InboxEvent, received_at: datetime) -> dict[str, Any]:
    return {
        "connection": event.connection,
        "vendor": event.vendor,
        "topic": event.topic,
        "entity": event.entity,
        "kind": event.kind,
        "record_id": event.record_id,
        "delivery_id": event.delivery_id,
        "event_id": event.event_id,
        "api_version": event.api_version,
        "received_at": received_at,
        "triggered_at": event.triggered_at,
        "status": "pending",
        "body": event.body,
    }


def store_events(
    warehouse: Warehouse, events: Sequence[InboxEvent], *, now: datetime | None = None
) -> set[tuple[str, str]]:
    """Store `events` in one transaction; returns the (connection, delivery id) of new ones.

    Events already stored (same connection and delivery id) are skipped. Raises the
    database's error when it cannot commit: then nothing was stored, and the caller must not
    acknowledge any of the deliveries.
    """
    if not events:
        return set()
    table = inbox_table(warehouse.dialect)
    received_at = now or datetime.now(UTC)
    dialect_insert = postgresql.insert if warehouse.dialect == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["connection", "delivery_id"])
        .returning(table.c.connection, table.c.delivery_id)
    )
    rows = [_row(event, received_at) for event in events]
    with warehouse.begin() as connection:
        if warehouse.dialect == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": INBOX_WRITE_LOCK_KEY}
            )
        return {(row[0], row[1]) for row in connection.execute(statement, rows)}


def pending_events(
    warehouse: Warehouse,
    after_id: int = 0,
    *,
    limit: int = 1000,
    connection: str | None = None,
) -> list[StoredEvent]:
    """Pending events with an id above `after_id`, oldest first, at most `limit`.

    Ids only grow in commit order (see the module docstring), so a reader that resumes
    after the last id it handled misses nothing.
    """
    table = inbox_table(warehouse.dialect)
    query = (
        select(table)
        .where(table.c.status == "pending", table.c.id > after_id)
        .order_by(table.c.id)
        .limit(limit)
    )
    if connection is not None:
        query = query.where(table.c.connection == connection)
    with warehouse.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [StoredEvent(**{**row, "body": bytes(row["body"])}) for row in rows]


def pending_in_range(
    warehouse: Warehouse, connection: str, first_id: int, last_id: int
) -> list[StoredEvent]:
    """Pending events of `connection` with `first_id <= id <= last_id`, oldest first.

    A webhook run is told a range rather than a list of ids: ids are committed in order, so
    once the sensor has seen `last_id` no event can appear in the range later.
    """
    table = inbox_table(warehouse.dialect)
    query = (
        select(table)
        .where(
            table.c.status == "pending",
            table.c.connection == connection,
            table.c.id >= first_id,
            table.c.id <= last_id,
        )
        .order_by(table.c.id)
    )
    with warehouse.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [StoredEvent(**{**row, "body": bytes(row["body"])}) for row in rows]


def mark_processed_in(
    connection: Connection, dialect: Dialect, ids: Iterable[int], *, now: datetime | None = None
) -> int:
    """`mark_processed` inside the caller's transaction (a load marks its events with its rows)."""
    chosen = sorted(set(ids))
    if not chosen:
        return 0
    table = inbox_table(dialect)
    statement = (
        update(table)
        .where(table.c.id.in_(chosen), table.c.status == "pending")
        .values(status="processed", processed_at=now or datetime.now(UTC))
    )
    return connection.execute(statement).rowcount


def mark_processed(warehouse: Warehouse, ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Mark events processed; returns how many changed (already processed ones do not)."""
    with warehouse.begin() as connection:
        return mark_processed_in(connection, warehouse.dialect, ids, now=now)


def prune_processed(
    warehouse: Warehouse, older_than: timedelta, *, now: datetime | None = None
) -> int:
    """Delete events processed more than `older_than` ago; returns how many.

    Pending events are never deleted, however old: an unprocessed change is still owed to
    the warehouse. Bodies hold personal data, so processed ones should not stay forever.
    """
    table = inbox_table(warehouse.dialect)
    cutoff = (now or datetime.now(UTC)) - older_than
    statement = delete(table).where(table.c.status == "processed", table.c.processed_at < cutoff)
    with warehouse.begin() as connection:
        return connection.execute(statement).rowcount


def inbox_depth(warehouse: Warehouse) -> dict[tuple[str, str | None], int]:
    """Pending events per (connection, entity); entity None for unmapped or account topics."""
    table = inbox_table(warehouse.dialect)
    query = (
        select(table.c.connection, table.c.entity, func.count())
        .where(table.c.status == "pending")
        .group_by(table.c.connection, table.c.entity)
    )
    with warehouse.read() as connection:
        return {(row[0], row[1]): int(row[2]) for row in connection.execute(query)}
