"""Serialising schema changes between processes.

Two processes (two Dagster runs starting together) may both find a table missing and both try
to create it; on Postgres the loser fails with a duplicate-key error on the catalog even with
`IF NOT EXISTS`. DDL therefore runs inside `ddl_transaction`, which on Postgres takes a
*transaction-scoped* advisory lock (released at commit, so it is safe behind a
transaction-mode pooler, unlike session locks) and on SQLite relies on `BEGIN IMMEDIATE`
(the database write lock).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from integration_assets.load.warehouse import Warehouse

# An arbitrary constant naming "integration_assets schema changes" among advisory locks.
DDL_LOCK_KEY = 0x1A_55E7_DD1


@contextmanager
def ddl_transaction(warehouse: Warehouse) -> Iterator[Connection]:
    """A write transaction that no other process is changing the schema in at the same time."""
    with warehouse.begin() as connection:
        if warehouse.dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK_KEY})
        yield connection
