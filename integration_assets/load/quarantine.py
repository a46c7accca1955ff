"""Writing rejected records to the quarantine table.

Nothing is dropped silently: a record the mapping (or quality checks) rejected is kept with
its raw form and every reason until someone resolves it, and it is written in the same
transaction as the batch it came from, so a retried batch does not quarantine twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, insert

from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.warehouse import Dialect
from integration_assets.mapping.tables import RejectedRecord


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
    """Insert `rejected` into the quarantine table in `connection`'s transaction; returns count."""
    if not rejected:
        return 0
    quarantined_at = at or datetime.now(UTC)
    table = bookkeeping(dialect).quarantine
    connection.execute(
        insert(table),
        [
            {
                "connection": tenant,
                "entity": entity,
                "run_id": run_id,
                "record_key": record.record_key,
                "reasons": list(record.reasons),
                "record": record.record,
                "quarantined_at": quarantined_at,
            }
            for record in rejected
        ],
    )
    return len(rejected)
