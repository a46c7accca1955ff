"""What the `/quality` page shows, read from the warehouse: the quality history the quality
stage writes (`quality/metrics.py`: `quality_metrics`, `quality_findings`) and each
entity's sync lag (`monitoring.read_status`, i.e. `sync_state`).

Per integration (vendor) and per connection: the overall score over time (the `integration`
and `connection` scope rows), the latest dimension scores, the top failures of each entity's
latest sync (`details["failures"]` of its `sync` row) and the findings of that same sync.
Failure examples are record keys (vendor ids); they are masked anyway when they look like
an email or phone number, as the CLI does with quarantine keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select

from integration_assets.connectors.connections import Connection
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.masking import mask_text
from integration_assets.monitoring.status import read_status
from integration_assets.quality.metrics import (
    SCOPE_CONNECTION,
    SCOPE_INTEGRATION,
    SCOPE_SYNC,
    SCORE_COLUMNS,
    quality_tables,
)
from integration_assets.sync.failure import mask_personal

HISTORY = 60
"""Points per chart: the latest measurements of a scope."""
TOP_FAILURES = 10
DIMENSIONS = SCORE_COLUMNS[:-1]


@dataclass(frozen=True)
class ScorePoint:
    measured_at: datetime
    overall: float


@dataclass(frozen=True)
class FailureRow:
    """One kind of failure in an entity's latest sync."""

    entity: str
    check: str
    dimension: str
    column: str | None
    count: int
    example_ids: tuple[str, ...]


@dataclass(frozen=True)
class FindingRow:
    entity: str
    measured_at: datetime
    kind: str
    metric: str
    column: str | None
    value: float
    expected: float | None
    score: float
    message: str


@dataclass(frozen=True)
class LagRow:
    entity: str
    status: str
    lag_seconds: float | None
    last_success_at: datetime | None


@dataclass
class ScopeQuality:
    """An integration or a connection: its history, latest scores and what is wrong."""

    vendor: str
    connection: str | None
    history: list[ScorePoint] = field(default_factory=list)
    latest: dict[str, float | None] = field(default_factory=dict)
    latest_at: datetime | None = None
    pass_rate: float | None = None
    failures: list[FailureRow] = field(default_factory=list)
    findings: list[FindingRow] = field(default_factory=list)
    lag: list[LagRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "vendor": self.vendor,
            "connection": self.connection,
            "history": [
                {"measured_at": iso(p.measured_at), "overall": p.overall} for p in self.history
            ],
            "latest": self.latest,
            "latest_at": iso(self.latest_at),
            "pass_rate": self.pass_rate,
            "failures": [
                {
                    "entity": f.entity,
                    "check": f.check,
                    "dimension": f.dimension,
                    "column": f.column,
                    "count": f.count,
                    "example_ids": list(f.example_ids),
                }
                for f in self.failures
            ],
            "findings": [
                {
                    "entity": f.entity,
                    "measured_at": iso(f.measured_at),
                    "kind": f.kind,
                    "metric": f.metric,
                    "column": f.column,
                    "value": f.value,
                    "expected": f.expected,
                    "score": f.score,
                    "message": f.message,
                }
                for f in self.findings
            ],
            "lag": [
                {
                    "entity": r.entity,
                    "status": r.status,
                    "lag_seconds": r.lag_seconds,
                    "last_success_at": iso(r.last_success_at),
                }
                for r in self.lag
            ],
        }


@dataclass
class IntegrationQuality:
    summary: ScopeQuality
    connections: list[ScopeQuality]

    def to_json(self) -> dict[str, Any]:
        return {**self.summary.to_json(), "connections": [c.to_json() for c in self.connections]}


def _history(conn: Any, metrics: Table, scope: str, vendor: str, connection: str | None) -> Any:
    """The latest `HISTORY` rows of a scope, oldest first, without `details` (a sync's
    profile can be large; the charts need the scores only)."""
    columns = [metrics.c.measured_at, metrics.c.pass_rate]
    query = select(*columns, *(metrics.c[name] for name in SCORE_COLUMNS)).where(
        metrics.c.scope == scope, metrics.c.vendor == vendor
    )
    if connection is not None:
        query = query.where(metrics.c.connection == connection)
    query = query.order_by(metrics.c.measured_at.desc(), metrics.c.id.desc()).limit(HISTORY)
    return list(reversed(conn.execute(query).all()))


def _fill_scores(scope: ScopeQuality, rows: Sequence[Any]) -> None:
    scope.history = [ScorePoint(row.measured_at, float(row.overall)) for row in rows]
    if rows:
        latest = rows[-1]
        scope.latest = {name: getattr(latest, name) for name in SCORE_COLUMNS}
        scope.latest_at = latest.measured_at
        scope.pass_rate = latest.pass_rate


def _failures(entity: str, details: Any) -> list[FailureRow]:
    found = details.get("failures") if isinstance(details, dict) else None
    rows = []
    for item in found or ():
        if not isinstance(item, dict) or "check" not in item:
            continue
        rows.append(
            FailureRow(
                entity=entity,
                check=str(item["check"]),
                dimension=str(item.get("dimension") or ""),
                column=item.get("column"),
                count=int(item.get("count") or 0),
                example_ids=tuple(mask_text(str(i)) for i in item.get("example_ids") or ())[:5],
            )
        )
    return rows


def _latest_syncs(conn: Any, metrics: Table, connection: str) -> dict[str, Any]:
    """Each entity's latest `sync` row of `connection` (one indexed read per entity: the
    history keeps every sync, each with its profile)."""
    mine = (metrics.c.scope == SCOPE_SYNC, metrics.c.connection == connection)
    entities = conn.execute(select(metrics.c.entity).where(*mine).distinct()).scalars().all()
    latest = {}
    for entity in sorted(e for e in entities if e is not None):
        latest[entity] = conn.execute(
            select(metrics.c.run_id, metrics.c.details)
            .where(*mine, metrics.c.entity == entity)
            .order_by(metrics.c.measured_at.desc(), metrics.c.id.desc())
            .limit(1)
        ).one()
    return latest


def _findings(
    conn: Any, findings: Table, connection: str, runs: dict[str, str]
) -> list[FindingRow]:
    """The findings of each entity's latest sync (`runs`: entity → run id); an entity with
    no `sync` row shows its newest findings' run."""
    rows = conn.execute(
        select(findings)
        .where(findings.c.connection == connection)
        .order_by(findings.c.measured_at.desc(), findings.c.id)
        .limit(500)
    ).all()
    chosen = dict(runs)
    for row in rows:
        chosen.setdefault(row.entity, row.run_id)
    return [
        FindingRow(
            entity=row.entity,
            measured_at=row.measured_at,
            kind=row.kind,
            metric=row.metric,
            column=row.column_name,
            value=row.value,
            expected=row.expected,
            score=row.score,
            message=mask_personal(row.message),
        )
        for row in rows
        if chosen.get(row.entity) == row.run_id
    ]


def read_quality(
    warehouse: Warehouse, connections: Sequence[Connection], now: datetime
) -> list[IntegrationQuality]:
    """One entry per vendor, with one per connection: the configured connections and any
    other the history names (a removed connection's past stays visible)."""
    tables = quality_tables(warehouse.dialect)
    metrics, findings = tables.metrics, tables.findings
    statuses = read_status(warehouse, connections, now=now)
    with warehouse.read() as conn:
        named = conn.execute(
            select(metrics.c.vendor, metrics.c.connection)
            .where(metrics.c.connection.is_not(None))
            .distinct()
        ).all()
        pairs = {(c.vendor, c.name) for c in connections} | {
            (r.vendor, r.connection) for r in named
        }
        vendors = sorted(
            {vendor for vendor, _ in pairs}
            | set(conn.execute(select(metrics.c.vendor).distinct()).scalars())
        )
        result = []
        for vendor in vendors:
            summary = ScopeQuality(vendor, None)
            _fill_scores(summary, _history(conn, metrics, SCOPE_INTEGRATION, vendor, None))
            scopes = []
            for name in sorted(c for v, c in pairs if v == vendor):
                scope = ScopeQuality(vendor, name)
                _fill_scores(scope, _history(conn, metrics, SCOPE_CONNECTION, vendor, name))
                latest = _latest_syncs(conn, metrics, name)
                scope.failures = sorted(
                    (f for entity, row in latest.items() for f in _failures(entity, row.details)),
                    key=lambda f: (-f.count, f.entity, f.check),
                )[:TOP_FAILURES]
                runs = {entity: row.run_id for entity, row in latest.items() if row.run_id}
                scope.findings = _findings(conn, findings, name, runs)
                scope.lag = [
                    LagRow(s.entity, s.status, s.lag_seconds, s.last_success_at)
                    for s in statuses
                    if s.connection == name
                ]
                scopes.append(scope)
            result.append(IntegrationQuality(summary, scopes))
    return result
