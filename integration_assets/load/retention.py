"""How long quarantined customer records are kept.

A quarantined record is a customer's raw data, kept so someone can see why it was rejected and
fix the mapping. Kept for ever, it becomes a second, unmanaged copy of personal data. So after
`older_than` (counted from `quarantined_at`):

- resolved entries are deleted: they were dealt with;
- open entries keep their key and reasons, but their raw record is replaced by
  `EXPIRED_RECORD`, with a warning in the log: the problem is never dropped silently, only the
  data it was about. Resolve them (or fix the mapping and replay) to clear them.

Uses only the quarantine columns `quarantined_at`, `resolved_at` and `record`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update

from integration_assets.load.bookkeeping import bookkeeping, ensure_bookkeeping
from integration_assets.load.warehouse import Warehouse

logger = logging.getLogger(__name__)

EXPIRED_RECORD: dict[str, Any] = {"_expired": True}


@dataclass(frozen=True)
class QuarantineExpiry:
    """What one pass did: resolved entries deleted, open entries whose record was removed."""

    deleted: int
    expired: int


def expire_quarantine(
    warehouse: Warehouse,
    older_than: timedelta,
    *,
    connection: str,
    entity: str,
    now: datetime | None = None,
) -> QuarantineExpiry:
    """Apply the retention to one connection's entity (see the module docstring)."""
    if older_than <= timedelta(0):
        raise ValueError("the quarantine retention must be positive")
    ensure_bookkeeping(warehouse)
    cutoff = (now or datetime.now(UTC)) - older_than
    table = bookkeeping(warehouse.dialect).quarantine
    scope = (
        table.c.connection == connection,
        table.c.entity == entity,
        table.c.quarantined_at < cutoff,
    )
    with warehouse.begin() as conn:
        deleted = conn.execute(delete(table).where(*scope, table.c.resolved_at.is_not(None)))
        expired = conn.execute(
            update(table)
            .where(*scope, table.c.resolved_at.is_(None), table.c.record != EXPIRED_RECORD)
            .values(record=EXPIRED_RECORD)
        )
    result = QuarantineExpiry(deleted=deleted.rowcount, expired=expired.rowcount)
    if result.expired:
        logger.warning(
            "quarantine of %s/%s: %d open entries are older than %s; their raw records were "
            "removed (keys and reasons are kept). Resolve them, or fix the mapping and replay.",
            connection,
            entity,
            result.expired,
            older_than,
        )
    return result
