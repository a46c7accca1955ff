"""Working off the quarantine: list the open records, replay them with the current mapping.

`replay_quarantine` maps each open raw record of a (connection, entity) with the mapping as
it is now (per-connection override included) and loads those that pass through the same
guarded `upsert_batch` as a sync (after the same quality rules: a record that maps but fails
one stays open with the rules' reasons), under the same writer lock, resolving their rows in the
same transaction:

- `replayed`: the record loaded (or the warehouse already held exactly it);
- `stale`: the warehouse holds a newer version (by source timestamp), which the guard kept;
- still failing: the row stays open with the reasons of today's mapping.

No Dagster here: the CLI (`integration-assets quarantine …`) and tests call these directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, tuple_, update

from integration_assets.load.bookkeeping import bookkeeping, ensure_bookkeeping
from integration_assets.load.lock import DEFAULT_LOCK_TIMEOUT, writer_lock
from integration_assets.load.quarantine import RESOLVED_REPLAYED, RESOLVED_STALE
from integration_assets.load.tables import build_table, ensure_tables
from integration_assets.load.upsert import upsert_batch
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.gate import Gate, split_batch
from integration_assets.schema import (
    CONNECTION_COLUMN,
    SOURCE_UPDATED_AT_COLUMN,
    MappedBatch,
    Row,
    TableSchema,
)
from integration_assets.sync.target import SyncTarget


@dataclass(frozen=True)
class QuarantinedRecord:
    """One open quarantine row, as listed (the raw record stays in the table)."""

    id: int
    connection: str
    entity: str
    record_key: str | None
    reasons: tuple[str, ...]
    seen_count: int
    quarantined_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class ReplayResult:
    """What a replay of one (connection, entity) did."""

    connection: str
    entity: str
    replayed: int = 0
    still_failing: int = 0
    stale: int = 0


def list_quarantine(
    warehouse: Warehouse,
    *,
    connection: str | None = None,
    entity: str | None = None,
    limit: int | None = None,
) -> list[QuarantinedRecord]:
    """The open quarantine rows, oldest first, optionally of one connection and/or entity."""
    ensure_bookkeeping(warehouse)
    table = bookkeeping(warehouse.dialect).quarantine
    query = select(
        table.c.id,
        table.c.connection,
        table.c.entity,
        table.c.record_key,
        table.c.reasons,
        table.c.seen_count,
        table.c.quarantined_at,
        table.c.last_seen_at,
    ).where(table.c.resolved_at.is_(None))
    if connection is not None:
        query = query.where(table.c.connection == connection)
    if entity is not None:
        query = query.where(table.c.entity == entity)
    query = query.order_by(table.c.quarantined_at, table.c.id)
    if limit is not None:
        query = query.limit(limit)
    with warehouse.read() as conn:
        rows = conn.execute(query).all()
    return [
        QuarantinedRecord(
            id=row.id,
            connection=row.connection,
            entity=row.entity,
            record_key=row.record_key,
            reasons=tuple(row.reasons),
            seen_count=row.seen_count or 1,
            quarantined_at=row.quarantined_at,
            last_seen_at=row.last_seen_at or row.quarantined_at,
        )
        for row in rows
    ]


def open_entities(warehouse: Warehouse) -> list[tuple[str, str]]:
    """The (connection, entity) pairs that have open quarantine rows."""
    ensure_bookkeeping(warehouse)
    table = bookkeeping(warehouse.dialect).quarantine
    query = (
        select(table.c.connection, table.c.entity)
        .where(table.c.resolved_at.is_(None))
        .distinct()
        .order_by(table.c.connection, table.c.entity)
    )
    with warehouse.read() as conn:
        return [(row.connection, row.entity) for row in conn.execute(query)]


def replay_quarantine(
    target: SyncTarget,
    warehouse: Warehouse,
    *,
    run_id: str | None = None,
    lock_timeout: timedelta = DEFAULT_LOCK_TIMEOUT,
) -> ReplayResult:
    """Replay the open quarantine rows of `target` with its current mapping (see module doc).

    Raises `SyncBusyError` when a load of the same (connection, entity) holds the writer lock
    for longer than `lock_timeout`, and `MappingBugError` when the mapping code itself fails.
    """
    run_id = run_id or f"quarantine-replay-{uuid.uuid4()}"
    connection, entity = target.connection.name, target.entity_name
    mapping = target.mapping
    ensure_bookkeeping(warehouse)
    ensure_tables(warehouse, mapping.tables)
    table = bookkeeping(warehouse.dialect).quarantine
    with writer_lock(warehouse, connection, entity, timeout=lock_timeout):
        with warehouse.read() as conn:
            rows = conn.execute(
                select(table.c.id, table.c.record)
                .where(
                    table.c.connection == connection,
                    table.c.entity == entity,
                    table.c.resolved_at.is_(None),
                )
                .order_by(table.c.id)
            ).all()
        batch = MappedBatch(rows={schema.name: [] for schema in mapping.tables})
        passed: list[tuple[int, Row]] = []
        failing: dict[int, list[str]] = {}
        for row in rows:
            mapped = mapping.map_records([row.record])
            if mapped.rejected:
                failing[row.id] = list(mapped.rejected[0].reasons)
                continue
            for name, table_rows in mapped.rows.items():
                batch.rows[name].extend(table_rows)
            passed.append((row.id, mapped.rows[mapping.table.name][0]))
        # Replayed records pass the same quality rules as a sync's, record by record.
        verdict = Gate(mapping.quality_rules).validate(batch)
        if verdict.reasons:
            batch, _ = split_batch(batch, mapping.table.name, verdict.reasons)
            for position, reasons in verdict.reasons.items():
                failing[passed[position][0]] = reasons
            passed = [
                item for position, item in enumerate(passed) if position not in verdict.reasons
            ]
        outcome: dict[str, int] = {}

        def resolve(conn: Connection) -> None:
            stale = _stale_ids(conn, mapping.table, warehouse.schema, connection, passed)
            now = datetime.now(UTC)
            for row_id, _ in passed:
                resolution = RESOLVED_STALE if row_id in stale else RESOLVED_REPLAYED
                conn.execute(
                    update(table)
                    .where(table.c.id == row_id)
                    .values(resolved_at=now, resolution=resolution)
                )
            for row_id, reasons in failing.items():
                conn.execute(update(table).where(table.c.id == row_id).values(reasons=reasons))
            outcome["stale"] = len(stale)

        upsert_batch(
            warehouse,
            mapping.tables,
            batch,
            connection=connection,
            entity=entity,
            run_id=run_id,
            in_transaction=resolve,
        )
    stale = outcome.get("stale", 0)
    return ReplayResult(
        connection=connection,
        entity=entity,
        replayed=len(passed) - stale,
        still_failing=len(failing),
        stale=stale,
    )


def _stale_ids(
    conn: Connection,
    schema: TableSchema,
    db_schema: str | None,
    connection: str,
    passed: Sequence[tuple[int, Row]],
) -> set[int]:
    """Replayed records the guard did not write because the stored version is newer.

    Read after the upsert in its transaction: a stored source timestamp later than the
    replayed version's (or a known one where the replayed version has none) means the
    warehouse kept its own, newer row.
    """
    if not passed or schema.source_updated_at is None:
        return set()
    table = build_table(schema, db_schema)
    key_columns = [table.c[name] for name in schema.primary_key]
    stored: dict[tuple[Any, ...], datetime | None] = {}
    keys = [tuple(row[name] for name in schema.primary_key) for _, row in passed]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found = conn.execute(
            select(*key_columns, table.c[SOURCE_UPDATED_AT_COLUMN]).where(
                table.c[CONNECTION_COLUMN] == connection, tuple_(*key_columns).in_(chunk)
            )
        )
        for found_row in found:
            stored[tuple(found_row[: len(key_columns)])] = found_row[-1]
    stale = set()
    for (row_id, row), key in zip(passed, keys, strict=True):
        incoming = row[schema.source_updated_at]
        current = stored.get(key)
        if current is not None and (incoming is None or incoming < current):
            stale.add(row_id)
    return stale
