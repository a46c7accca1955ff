"""The quarantine table: rejected records, kept until they are worked off.

Nothing is dropped silently: a record the mapping (or quality checks) rejected is kept with
its raw form and every reason until it is resolved, written in the same transaction as the
batch it came from.

One open row per record: its `dedupe_key` is the record key (else `hash:` and a hash of the
raw record, when the key itself is unusable), and a unique index over the open rows of
(connection, entity, dedupe_key) holds at most one. Re-reading a still-bad record (the
incremental lookback, a retried load, a full refresh) updates that row (newest raw record
and reasons, `last_seen_at`, `seen_count`) instead of adding one.

A row is resolved (`resolved_at`, `resolution`) when a good version of the record loads
(`superseded`, in that batch's transaction), or by a replay with a fixed mapping
(`replayed`, or `stale` when the stored row is newer than the quarantined version).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, exists, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.encoding import dumps_json
from integration_assets.load.warehouse import Dialect
from integration_assets.schema import RejectedRecord

RESOLVED_SUPERSEDED = "superseded"
RESOLVED_REPLAYED = "replayed"
RESOLVED_STALE = "stale"
HASH_PREFIX = "hash:"
_CHUNK = 500


def record_hash(record: Any) -> str:
    """A stable digest of a raw record (JSON with sorted keys)."""
    return hashlib.blake2b(dumps_json(record), digest_size=16).hexdigest()


def dedupe_key(record_key: str | None, digest: str) -> str:
    """What makes two quarantined records the same record: the key, else the raw hash."""
    return record_key if record_key is not None else HASH_PREFIX + digest


def quarantine_records(
    connection: Connection,
    dialect: Dialect,
    rejected: Sequence[RejectedRecord],
    *,
    tenant: str,
    entity: str,
    run_id: str,
    at: datetime | None = None,
) -> int:
    """Quarantine `rejected` in `connection`'s transaction; returns how many records.

    A record with an open row already updates it (newest version and reasons, one more
    sighting) instead of adding a row.
    """
    if not rejected:
        return 0
    seen_at = at or datetime.now(UTC)
    table = bookkeeping(dialect).quarantine
    latest: dict[str, dict[str, Any]] = {}
    for record in rejected:  # the last of a batch's versions of a record is the newest read
        digest = record_hash(record.record)
        key = dedupe_key(record.record_key, digest)
        latest[key] = {
            "connection": tenant,
            "entity": entity,
            "run_id": run_id,
            "record_key": record.record_key,
            "reasons": list(record.reasons),
            "record": record.record,
            "quarantined_at": seen_at,
            "dedupe_key": key,
            "record_hash": digest,
            "last_seen_at": seen_at,
            "seen_count": 1,
        }
    make_insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    statement = make_insert(table)
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.connection, table.c.entity, table.c.dedupe_key],
        index_where=table.c.resolved_at.is_(None),
        set_={
            "run_id": new.run_id,
            "reasons": new.reasons,
            "record": new.record,
            "record_hash": new.record_hash,
            "last_seen_at": new.last_seen_at,
            "seen_count": table.c.seen_count + 1,
        },
    )
    connection.execute(statement, list(latest.values()))
    return len(rejected)


def resolve_superseded(
    connection: Connection,
    dialect: Dialect,
    *,
    tenant: str,
    entity: str,
    record_keys: Iterable[str],
    at: datetime | None = None,
) -> int:
    """Resolve the open rows of records that just loaded normally; returns how many.

    Costs one indexed existence check per batch when (as usual) nothing is quarantined.
    """
    table = bookkeeping(dialect).quarantine
    open_rows = _open(table, tenant, entity)
    if not connection.execute(select(exists().where(*open_rows))).scalar():
        return 0
    keys = list(record_keys)
    resolved = 0
    for start in range(0, len(keys), _CHUNK):
        result = connection.execute(
            update(table)
            .where(*open_rows, table.c.dedupe_key.in_(keys[start : start + _CHUNK]))
            .values(resolved_at=at or datetime.now(UTC), resolution=RESOLVED_SUPERSEDED)
        )
        resolved += result.rowcount
    return resolved


def _open(table: Table, tenant: str, entity: str) -> list[Any]:
    return [table.c.connection == tenant, table.c.entity == entity, table.c.resolved_at.is_(None)]
