"""Incidents: what is failing now, so one problem is one alert, however many runs fail.

An incident is keyed by (connection, entity, kind), `kind` being what failed (`sync`,
`reconcile`). The first failed run opens it, later failed runs only bump `last_seen` and
`failures`, and the next successful run resolves it. `alerted` says whether its alert was
delivered: a delivery that failed (Slack down) leaves it false, so the next failure of the
incident tries again, and a recovery is announced only for an incident someone was told of.

The table is a bookkeeping table (`integration.alert_incidents` on Postgres,
`integration_alert_incidents` on SQLite) in the warehouse: it is the one database every
Dagster process (daemon, webserver, run workers) already shares. At most one open row per key
(a partial unique index); resolved rows stay as the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    false,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from integration_assets.load.bookkeeping import bookkeeping_table, ensure_bookkeeping
from integration_assets.load.types import UtcDateTime
from integration_assets.load.warehouse import Dialect, Warehouse

INCIDENTS_TABLE = "alert_incidents"
WHOLE_RUN = "*"
"""The entity of an incident whose run failed outside any entity's step."""


@dataclass(frozen=True)
class Incident:
    id: int
    connection: str
    entity: str
    kind: str
    opened_at: datetime
    last_seen: datetime
    resolved_at: datetime | None
    alerted: bool
    failures: int
    last_run_id: str
    error_class: str


@dataclass(frozen=True)
class Failure:
    """What `record_failure` found: the incident, and whether this run was already counted."""

    incident: Incident
    opened: bool
    repeated_run: bool


@cache
def incidents_table(dialect: Dialect) -> Table:
    """The incidents `Table` for `dialect`, in a `MetaData` of its own."""
    id_type = Integer if dialect == "sqlite" else BigInteger
    return bookkeeping_table(
        MetaData(),
        dialect,
        INCIDENTS_TABLE,
        Column("id", id_type, primary_key=True, autoincrement=True),
        Column("connection", Text, nullable=False),
        Column("entity", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("opened_at", UtcDateTime, nullable=False),
        Column("last_seen", UtcDateTime, nullable=False),
        Column("resolved_at", UtcDateTime, nullable=True),
        Column("alerted", Boolean, nullable=False, server_default=false()),
        Column("failures", Integer, nullable=False, server_default=text("1")),
        Column("last_run_id", Text, nullable=False),
        Column("error_class", Text, nullable=False, server_default=text("''")),
        Index(
            "integration_alert_incidents_one_open",
            "connection",
            "entity",
            "kind",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
    )


def _incident(row: Any) -> Incident:
    return Incident(**{name: row[name] for name in Incident.__dataclass_fields__})


class IncidentStore:
    """Open, bump, mark alerted and resolve incidents in the warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.table = incidents_table(warehouse.dialect)
        assert self.table.metadata is not None
        ensure_bookkeeping(warehouse, self.table.metadata)

    def _open(self, conn: Connection, connection: str, entity: str, kind: str) -> Incident | None:
        t = self.table
        row = (
            conn.execute(
                select(t).where(
                    t.c.connection == connection,
                    t.c.entity == entity,
                    t.c.kind == kind,
                    t.c.resolved_at.is_(None),
                )
            )
            .mappings()
            .first()
        )
        return _incident(row) if row else None

    def record_failure(
        self,
        connection: str,
        entity: str,
        kind: str,
        run_id: str,
        error_class: str,
        now: datetime | None = None,
    ) -> Failure:
        """Open the key's incident, or count this run against the open one (once per run)."""
        now = now or datetime.now(UTC)
        t = self.table
        for _attempt in range(2):  # a concurrent opener wins the unique index: then bump its row
            try:
                with self.warehouse.begin() as conn:
                    current = self._open(conn, connection, entity, kind)
                    if current is None:
                        conn.execute(
                            insert(t).values(
                                connection=connection,
                                entity=entity,
                                kind=kind,
                                opened_at=now,
                                last_seen=now,
                                alerted=False,
                                failures=1,
                                last_run_id=run_id,
                                error_class=error_class,
                            )
                        )
                        opened = self._open(conn, connection, entity, kind)
                        assert opened is not None
                        return Failure(opened, opened=True, repeated_run=False)
                    if current.last_run_id == run_id:
                        return Failure(current, opened=False, repeated_run=True)
                    conn.execute(
                        update(t)
                        .where(t.c.id == current.id)
                        .values(
                            last_seen=now,
                            failures=t.c.failures + 1,
                            last_run_id=run_id,
                            error_class=error_class,
                        )
                    )
                    bumped = self._open(conn, connection, entity, kind)
                    assert bumped is not None
                    return Failure(bumped, opened=False, repeated_run=False)
            except IntegrityError:
                continue
        raise RuntimeError(f"could not record the incident of {connection}/{entity} ({kind})")

    def open_kinds(self, connection: str, entity: str) -> set[str]:
        """The kinds of the open incidents of (connection, entity), a whole-run one included."""
        t = self.table
        query = select(t.c.kind).where(
            t.c.connection == connection,
            t.c.entity.in_([entity, WHOLE_RUN]),
            t.c.resolved_at.is_(None),
        )
        with self.warehouse.read() as conn:
            return set(conn.execute(query).scalars())

    def mark_alerted(self, incident_id: int) -> None:
        with self.warehouse.begin() as conn:
            conn.execute(
                update(self.table).where(self.table.c.id == incident_id).values(alerted=True)
            )

    def resolve(
        self,
        connection: str,
        kind: str,
        entities: Sequence[str] | None,
        now: datetime | None = None,
    ) -> list[Incident]:
        """Resolve the open incidents of `connection` and `kind` (of `entities`, or all of
        them when None) and return them as they were, resolved."""
        now = now or datetime.now(UTC)
        t = self.table
        condition = [t.c.connection == connection, t.c.kind == kind, t.c.resolved_at.is_(None)]
        if entities is not None:
            # `*` is a run that failed before any entity did (a crashed worker): any
            # successful run of the connection shows it is over.
            condition.append(t.c.entity.in_([*entities, WHOLE_RUN]))
        with self.warehouse.begin() as conn:
            rows = conn.execute(select(t).where(*condition)).mappings().all()
            if rows:
                conn.execute(
                    update(t).where(t.c.id.in_([row["id"] for row in rows])).values(resolved_at=now)
                )
        return [_incident({**row, "resolved_at": now}) for row in rows]

    def incidents(self, connection: str | None = None) -> list[Incident]:
        """Every incident (open and resolved), oldest first."""
        t = self.table
        query = select(t).order_by(t.c.id)
        if connection is not None:
            query = query.where(t.c.connection == connection)
        with self.warehouse.read() as conn:
            return [_incident(row) for row in conn.execute(query).mappings()]
