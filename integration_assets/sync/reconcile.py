"""Reconciliation: soft-delete the rows of records the vendor no longer has.

Vendor listings never show deleted records (no tombstones), so an incremental sync, and even
a full refresh, cannot see a deletion. Reconciliation walks the entity's ids only (the
vendor's sparse field option, `EntitySpec.ids_only_params`, or a GraphQL vendor's id query,
`EntitySpec.ids_query`, through the same `PageStream` a sync uses) and then, in one transaction:

- marks `_deleted_at = now` on rows of this connection whose key the walk did not see AND
  that were synced before the walk began (`_synced_at < walk start`): a record created and
  loaded by a concurrent sync while the walk ran is never wrongly marked;
- clears `_deleted_at` of marked rows whose key is present again;
- makes child rows (order line items, product variants) follow their parent: marked with it,
  cleared with it. Children are only ever replaced with their parent, so their state is the
  parent's state.

Rows are never dropped: an app decides what a deleted customer means to it, and a row marked
by mistake is cleared by the next reconciliation or the next write of that record.

Safety: a vendor outage answering empty lists, or a token whose scope hides records, must not
soft-delete a whole shop. When the walk saw no id at all while the warehouse has live rows,
or when it would mark more than `max_deleted_fraction` (default 50%) of the connection's live
rows, nothing is written and `ReconcileRefused` says why; a real mass deletion is applied by
running again with a higher `max_deleted_fraction` (CLI `--max-deleted-fraction 1`).

Memory: the seen keys are held in a Python set during the walk (measured with tracemalloc:
1M Shopify integer ids ~ 70 MB, 1M 26-character Klaviyo ids ~ 110 MB), then copied into a temporary
table (binary `COPY` on Postgres, `executemany` on SQLite) so the marking is set-based SQL
and no key list is ever formatted into a statement.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from sqlalchemy import (
    Column,
    Connection,
    Index,
    MetaData,
    Table,
    and_,
    exists,
    func,
    select,
    update,
)

from integration_assets.extract import ExtractSettings, PageStream
from integration_assets.load.tables import build_table, ensure_tables, parents_first
from integration_assets.load.warehouse import Warehouse
from integration_assets.schema import (
    CONNECTION_COLUMN,
    DELETED_AT_COLUMN,
    SYNCED_AT_COLUMN,
    ColumnType,
    TableSchema,
)
from integration_assets.sync.target import SyncTarget

DEFAULT_MAX_DELETED_FRACTION = 0.5
"""Refuse to mark more than this share of a connection's live rows in one reconciliation."""
_SEEN_TABLE = "_ia_seen_keys"
_SEEN_CHUNK = 10_000


class ReconcileError(ValueError):
    """The entity cannot be reconciled (append-only, no sparse field option, composite key)."""


class ReconcileRefused(RuntimeError):
    """The walk's result looks like an outage or a wrong token scope, not like deletions."""


@dataclass(frozen=True)
class ReconcileResult:
    """What one reconciliation saw and changed (`children_*` sum the child tables)."""

    connection: str
    entity: str
    seen: int
    marked_deleted: int
    restored: int
    children_marked_deleted: int
    children_restored: int
    requests: int
    seconds: float


def _check_reconcilable(target: SyncTarget) -> TableSchema:
    entity = target.entity
    if not entity.reconciled:
        why = (
            "it is append-only"
            if entity.append_only
            else "its spec has no ids_only_params (or ids_query)"
        )
        raise ReconcileError(f"{target.connection.vendor}/{entity.name} is not reconciled: {why}")
    root = target.mapping.tables[0]
    if len(root.primary_key) != 1:
        raise ReconcileError(
            f"{target.connection.vendor}/{entity.name}: reconciliation needs a single-column "
            f"key, table {root.name!r} has {root.primary_key}"
        )
    return root


def _key_converter(root: TableSchema) -> Any:
    return int if root.column(root.primary_key[0]).type is ColumnType.INTEGER else str


def walk_ids(
    target: SyncTarget,
    *,
    settings: ExtractSettings | None = None,
    client: httpx.Client | None = None,
) -> tuple[set[Any], int]:
    """Every key the vendor lists now, read ids-only; returns (keys, requests made)."""
    root = _check_reconcilable(target)
    convert = _key_converter(root)
    mapping = target.mapping
    keys: set[Any] = set()
    stream = PageStream(
        target.connector,
        target.entity_name,
        target.connection,
        settings=settings,
        client=client,
        ids_only=True,
    )
    for page in stream:
        for record in page.records:
            key = mapping.record_key(record)
            if key is None:
                raise ReconcileRefused(
                    f"{target.connection.vendor}/{target.entity_name} (connection "
                    f"'{target.connection.name}'): a record of page {page.number} of the id "
                    "walk has no usable id; nothing was marked"
                )
            keys.add(convert(key))
    return keys, stream.stats.requests


def _stage_keys(conn: Connection, warehouse: Warehouse, key: Column, keys: Iterable[Any]) -> Table:
    """A temporary table holding `keys`, indexed, in `conn`'s transaction."""
    seen = Table(
        _SEEN_TABLE,
        MetaData(),
        Column("key", key.type, nullable=False),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    Index(f"{_SEEN_TABLE}_key", seen.c.key)
    seen.drop(conn, checkfirst=True)
    seen.create(conn)
    if warehouse.dialect == "postgresql":
        raw = conn.connection.driver_connection
        if not isinstance(raw, psycopg.Connection):
            raise TypeError("reconciliation on Postgres needs the psycopg 3 driver")
        with raw.cursor() as cursor, cursor.copy(f"COPY {_SEEN_TABLE} (key) FROM STDIN") as copy:
            for value in keys:
                copy.write_row((value,))
    else:
        chunk: list[dict[str, Any]] = []
        for value in keys:
            chunk.append({"key": value})
            if len(chunk) >= _SEEN_CHUNK:
                conn.execute(seen.insert(), chunk)
                chunk = []
        if chunk:
            conn.execute(seen.insert(), chunk)
    return seen


def _follow_parents(
    conn: Connection, warehouse: Warehouse, tables: list[TableSchema], tenant: str, now: datetime
) -> tuple[int, int]:
    """Mark/clear child rows so that each has its parent's deleted state."""
    by_name = {schema.name: schema for schema in tables}
    marked = restored = 0
    for schema in tables:
        if schema.parent is None:
            continue
        child = build_table(schema, warehouse.schema)
        parent_schema = by_name[schema.parent]
        parent = build_table(parent_schema, warehouse.schema).alias("p")
        joined = and_(
            parent.c[CONNECTION_COLUMN] == child.c[CONNECTION_COLUMN],
            *(
                parent.c[theirs] == child.c[mine]
                for mine, theirs in zip(schema.parent_key, parent_schema.primary_key, strict=True)
            ),
        )
        mine = child.c[CONNECTION_COLUMN] == tenant
        marked += conn.execute(
            update(child)
            .where(
                mine,
                child.c[DELETED_AT_COLUMN].is_(None),
                exists().where(joined, parent.c[DELETED_AT_COLUMN].is_not(None)),
            )
            .values({DELETED_AT_COLUMN: now})
        ).rowcount
        restored += conn.execute(
            update(child)
            .where(
                mine,
                child.c[DELETED_AT_COLUMN].is_not(None),
                exists().where(joined, parent.c[DELETED_AT_COLUMN].is_(None)),
            )
            .values({DELETED_AT_COLUMN: None})
        ).rowcount
    return marked, restored


def apply_seen_keys(
    warehouse: Warehouse,
    target: SyncTarget,
    keys: set[Any],
    *,
    walk_started: datetime,
    max_deleted_fraction: float = DEFAULT_MAX_DELETED_FRACTION,
    now: datetime | None = None,
) -> tuple[int, int, int, int]:
    """Mark and clear rows from the walk's keys, in one transaction.

    Returns (marked, restored, children marked, children restored); raises `ReconcileRefused`
    (and writes nothing) when the walk looks like an outage rather than deletions.
    """
    if not 0.0 <= max_deleted_fraction <= 1.0:
        raise ValueError("max_deleted_fraction must be within [0, 1]")
    root_schema = _check_reconcilable(target)
    tables = parents_first(list(target.mapping.tables))
    ensure_tables(warehouse, tables)
    tenant = target.connection.name
    now = now or datetime.now(UTC)
    root = build_table(root_schema, warehouse.schema)
    key = root.c[root_schema.primary_key[0]]
    label = f"{target.connection.vendor}/{target.entity_name} (connection '{tenant}')"
    with warehouse.begin() as conn:
        seen = _stage_keys(conn, warehouse, key, keys)
        mine = root.c[CONNECTION_COLUMN] == tenant
        live = root.c[DELETED_AT_COLUMN].is_(None)
        vanished = and_(
            mine,
            live,
            root.c[SYNCED_AT_COLUMN] < walk_started,
            ~exists().where(seen.c.key == key),
        )
        live_rows = conn.execute(
            select(func.count()).select_from(root).where(mine, live)
        ).scalar_one()
        doomed = conn.execute(select(func.count()).select_from(root).where(vanished)).scalar_one()
        if live_rows and not keys:
            raise ReconcileRefused(
                f"{label}: the vendor listed no records at all while the warehouse has "
                f"{live_rows} live rows; refusing to mark them deleted (a vendor outage or a "
                "token without read scope looks exactly like this). Check the connection "
                "and run again."
            )
        if live_rows and doomed > max_deleted_fraction * live_rows:
            raise ReconcileRefused(
                f"{label}: {doomed} of {live_rows} live rows are missing from the vendor's "
                f"listing, more than the safety threshold of {max_deleted_fraction:.0%}; "
                "nothing was marked. If the vendor really deleted them, run again with a "
                "higher max_deleted_fraction (CLI: --max-deleted-fraction 1)."
            )
        marked = conn.execute(
            update(root).where(vanished).values({DELETED_AT_COLUMN: now})
        ).rowcount
        restored = conn.execute(
            update(root)
            .where(mine, root.c[DELETED_AT_COLUMN].is_not(None), exists().where(seen.c.key == key))
            .values({DELETED_AT_COLUMN: None})
        ).rowcount
        children_marked, children_restored = _follow_parents(conn, warehouse, tables, tenant, now)
        if warehouse.dialect == "sqlite":
            seen.drop(conn)
    return marked, restored, children_marked, children_restored


def run_reconcile(
    target: SyncTarget,
    warehouse: Warehouse,
    *,
    settings: ExtractSettings | None = None,
    max_deleted_fraction: float = DEFAULT_MAX_DELETED_FRACTION,
    client: httpx.Client | None = None,
) -> ReconcileResult:
    """Walk the vendor's ids for `target` and soft-delete/restore its rows; see the module."""
    started = time.perf_counter()
    _check_reconcilable(target)
    walk_started = datetime.now(UTC)
    keys, requests = walk_ids(target, settings=settings, client=client)
    marked, restored, children_marked, children_restored = apply_seen_keys(
        warehouse,
        target,
        keys,
        walk_started=walk_started,
        max_deleted_fraction=max_deleted_fraction,
    )
    return ReconcileResult(
        connection=target.connection.name,
        entity=target.entity_name,
        seen=len(keys),
        marked_deleted=marked,
        restored=restored,
        children_marked_deleted=children_marked,
        children_restored=children_restored,
        requests=requests,
        seconds=round(time.perf_counter() - started, 3),
    )
