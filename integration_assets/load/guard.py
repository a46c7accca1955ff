"""The upsert guard: when may an incoming row overwrite the stored one?

- The incoming source timestamp is newer -> update.
- It is older -> never (a stale record, e.g. re-read through the incremental lookback).
- The incoming one is unknown but the stored one is known -> never: a version without a
  timestamp cannot prove it is newer, and a known timestamp must not be lost.
- Same timestamp, or both unknown, or only the stored one unknown -> update only if the
  content differs (`_row_hash`): a replay after a mapping fix rewrites rows, an identical
  replay writes nothing; or if the stored row is marked deleted (`_deleted_at`): the record
  is back, so the write clears it.

The rule exists in three forms that must agree: Python (`should_write`, used by the SQLite
path to count outcomes before writing) and SQL (`postgres_guard_sql`, `sqlite_guard`); the
test suite runs the same cases on both backends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, func, not_, or_
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import KeyedColumnElement

from integration_assets.schema import DELETED_AT_COLUMN, ROW_HASH_COLUMN, SOURCE_UPDATED_AT_COLUMN


def should_write(
    incoming_ts: datetime | None,
    incoming_hash: str,
    stored_ts: datetime | None,
    stored_hash: str | None,
    stored_deleted: bool = False,
) -> bool:
    """Whether an incoming row overwrites the stored one (both exist)."""
    if incoming_ts is not None and stored_ts is not None:
        if incoming_ts > stored_ts:
            return True
        if incoming_ts < stored_ts:
            return False
    elif incoming_ts is None and stored_ts is not None:
        return False
    return incoming_hash != stored_hash or stored_deleted


def postgres_guard_sql(target: str, quote: Callable[[str], str]) -> str:
    """The guard as SQL for `ON CONFLICT DO UPDATE … WHERE`; `target` is the target's alias."""
    ts = quote(SOURCE_UPDATED_AT_COLUMN)
    digest = quote(ROW_HASH_COLUMN)
    deleted = quote(DELETED_AT_COLUMN)
    return (
        f"(EXCLUDED.{ts} > {target}.{ts} OR "
        f"(NOT COALESCE(EXCLUDED.{ts} < {target}.{ts}, FALSE) "
        f"AND NOT (EXCLUDED.{ts} IS NULL AND {target}.{ts} IS NOT NULL) "
        f"AND (EXCLUDED.{digest} IS DISTINCT FROM {target}.{digest} "
        f"OR {target}.{deleted} IS NOT NULL)))"
    )


def sqlite_guard(
    table: Table, excluded: ReadOnlyColumnCollection[str, KeyedColumnElement[Any]]
) -> ColumnElement[bool]:
    """The guard as a SQLAlchemy expression for SQLite's `ON CONFLICT DO UPDATE … WHERE`."""
    incoming_ts = excluded[SOURCE_UPDATED_AT_COLUMN]
    stored_ts = table.c[SOURCE_UPDATED_AT_COLUMN]
    return or_(
        incoming_ts > stored_ts,
        and_(
            not_(func.coalesce(incoming_ts < stored_ts, false())),
            not_(and_(incoming_ts.is_(None), stored_ts.is_not(None))),
            or_(
                excluded[ROW_HASH_COLUMN].is_distinct_from(table.c[ROW_HASH_COLUMN]),
                table.c[DELETED_AT_COLUMN].is_not(None),
            ),
        ),
    )
