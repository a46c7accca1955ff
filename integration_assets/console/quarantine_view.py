"""The quarantine as the `/quality` page lists it: searched, paged, personal data masked.

A search narrows by connection and entity (exact) and by a text that a row's record key or
one of its reasons contains (case-insensitive). The raw record is never searched: a search
box over it would let anyone probe for a person's email address one guess at a time.

Record keys are vendor ids, masked anyway when they look like an email or phone number;
reasons were masked when written and are masked again here (rows written by an older
version, or by hand); raw records go through `record_masking.mask_record`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, or_, select

from integration_assets.console.record_masking import mask_record
from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.masking import mask_text
from integration_assets.sync.failure import mask_personal

PAGE_SIZE = 20
MAX_TEXT = 200


@dataclass(frozen=True)
class QuarantineQuery:
    connection: str = ""
    entity: str = ""
    text: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params: Any) -> QuarantineQuery:
        """From a request's query string; anything odd falls back to the first page."""
        try:
            page = max(int(params.get("page", "1")), 1)
        except ValueError:
            page = 1
        return cls(
            connection=str(params.get("connection", ""))[:MAX_TEXT],
            entity=str(params.get("entity", ""))[:MAX_TEXT],
            text=str(params.get("q", "")).strip()[:MAX_TEXT],
            page=page,
        )


@dataclass(frozen=True)
class QuarantineRow:
    id: int
    connection: str
    entity: str
    record_key: str
    reasons: tuple[str, ...]
    seen_count: int
    quarantined_at: datetime
    record: Any
    """The raw record, masked."""


@dataclass(frozen=True)
class QuarantinePage:
    rows: list[QuarantineRow]
    total: int
    """Open rows matching the search."""
    page: int
    pages: int
    open_by_entity: list[tuple[str, str, int]]
    """(connection, entity, open rows) of the whole quarantine, for the replay buttons."""


def search_quarantine(warehouse: Warehouse, query: QuarantineQuery) -> QuarantinePage:
    """One page of the open quarantine rows matching `query`, newest first."""
    table = bookkeeping(warehouse.dialect).quarantine
    conditions = [table.c.resolved_at.is_(None)]
    if query.connection:
        conditions.append(table.c.connection == query.connection)
    if query.entity:
        conditions.append(table.c.entity == query.entity)
    if query.text:
        needle = query.text.lower()
        conditions.append(
            or_(
                func.lower(table.c.record_key).contains(needle, autoescape=True),
                func.lower(cast(table.c.reasons, Text)).contains(needle, autoescape=True),
            )
        )
    with warehouse.read() as conn:
        total = conn.execute(
            select(func.count()).select_from(table).where(*conditions)
        ).scalar_one()
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(query.page, pages)
        found = conn.execute(
            select(
                table.c.id,
                table.c.connection,
                table.c.entity,
                table.c.record_key,
                table.c.reasons,
                table.c.seen_count,
                table.c.quarantined_at,
                table.c.record,
            )
            .where(*conditions)
            .order_by(table.c.quarantined_at.desc(), table.c.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
        counts = conn.execute(
            select(table.c.connection, table.c.entity, func.count())
            .where(table.c.resolved_at.is_(None))
            .group_by(table.c.connection, table.c.entity)
            .order_by(table.c.connection, table.c.entity)
        ).all()
    rows = [
        QuarantineRow(
            id=row.id,
            connection=row.connection,
            entity=row.entity,
            record_key=mask_text(row.record_key) if row.record_key is not None else "-",
            reasons=tuple(mask_personal(str(reason)) for reason in row.reasons or ()),
            seen_count=row.seen_count or 1,
            quarantined_at=row.quarantined_at,
            record=mask_record(row.record, row.entity),
        )
        for row in found
    ]
    return QuarantinePage(
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        open_by_entity=[(c, e, n) for c, e, n in counts],
    )
