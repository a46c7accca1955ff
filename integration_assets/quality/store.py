"""Writing and reading the quality history (`quality_metrics`, `quality_findings`).

Append-only: every sync adds rows, none is updated, so the console can draw any score over
time and the detectors read their baselines from the same rows. For one sync,
`save_assessment` writes in one transaction:

- a `sync` row: counts, pass rate, the scores, and `details` (JSON): the profile (numeric
  samples as lists of at most `STORED_SAMPLE` floats, category counts), a light `summary` (volume per hour, per
  column count/nulls/distinct) that the anomaly history reads without the samples, the top
  failures, and the evaluations and failures per dimension;
- a `connection` rollup over the latest sync of every entity of the connection, and an
  `integration` rollup over the latest sync of every (connection, entity) of the vendor
  (both within `ROLLUP_WINDOW`): records and passes summed, each score the record-weighted
  mean of the entities that measured it (an entity weighs at least one record, so an empty
  sync still counts), gate passed when every entity's did; the connection's `details` list
  its entities, the integration's count connections and entities and name the failing ones;
- one `quality_findings` row per finding.

Works on SQLite and Postgres (the JSON summary is extracted in SQL by each one's function).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, Row, Table, func, insert, select

from integration_assets.load.bookkeeping import ensure_bookkeeping
from integration_assets.load.types import JsonDocument
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.metrics import (
    SCOPE_CONNECTION,
    SCOPE_INTEGRATION,
    SCOPE_SYNC,
    SCORE_COLUMNS,
    QualityTables,
    quality_tables,
)
from integration_assets.quality.model import (
    Assessment,
    ColumnKind,
    ColumnProfile,
    Finding,
    FindingKind,
    SyncProfile,
)

TOP_FAILURES = 10
ROLLUP_WINDOW = timedelta(days=8)
"""Rollups cover the entities synced in the last 8 days (a week plus a day: every daily and
weekly-ish entity, even a late one), so they read recent rows, not the whole history."""
ROLLUP_NAMED = 20
STORED_SAMPLE = 512
_READY: weakref.WeakSet[Warehouse] = weakref.WeakSet()


def ensure_quality_tables(warehouse: Warehouse) -> QualityTables:
    """The quality tables, created when missing (once per `Warehouse` object)."""
    tables = quality_tables(warehouse.dialect)
    if warehouse not in _READY:
        ensure_bookkeeping(warehouse, tables.metadata)
        _READY.add(warehouse)
    return tables


# -- JSON forms -------------------------------------------------------------------------------


def stored_sample(sample: Sequence[float]) -> list[float]:
    """At most `STORED_SAMPLE` of a numeric sample's values (a seeded random subset: a
    uniform sample of a uniform sample), to 6 significant digits: a reference pools 20 syncs'
    samples, so ~10,000 values, while each stored row stays small (~5 KB per column)."""
    values = np.asarray(sample, dtype=np.float64)
    if len(values) > STORED_SAMPLE:
        chosen = np.random.default_rng(0).choice(len(values), STORED_SAMPLE, replace=False)
        values = values[np.sort(chosen)]
    return [float(f"{v:.6g}") for v in values.tolist()]


def column_to_json(column: ColumnProfile) -> dict[str, Any]:
    document: dict[str, Any] = {
        "kind": column.kind.value,
        "count": column.count,
        "nulls": column.nulls,
        "distinct": column.distinct,
    }
    if column.sample:
        document["sample"] = stored_sample(column.sample)
    if column.categories:
        document["categories"] = dict(column.categories)
    return document


def profile_to_json(profile: SyncProfile) -> dict[str, Any]:
    return {
        "rows": profile.rows,
        "columns": {name: column_to_json(c) for name, c in profile.columns.items()},
    }


def profile_from_json(document: dict[str, Any]) -> SyncProfile:
    columns = {
        name: ColumnProfile(
            name=name,
            kind=ColumnKind(c["kind"]),
            count=int(c["count"]),
            nulls=int(c["nulls"]),
            distinct=int(c["distinct"]),
            sample=tuple(float(v) for v in c.get("sample", ())),
            categories={str(k): int(v) for k, v in c.get("categories", {}).items()},
        )
        for name, c in document.get("columns", {}).items()
    }
    return SyncProfile(rows=int(document.get("rows", 0)), columns=columns)


def summary_of(profile: SyncProfile, per_hour: float | None, minutes: float | None) -> dict:
    """The light part of `details` the anomaly history reads (no samples, no categories)."""
    return {
        "per_hour": per_hour,
        "minutes_since_previous": minutes,
        "rows": profile.rows,
        "columns": {
            name: {"kind": c.kind.value, "count": c.count, "nulls": c.nulls, "distinct": c.distinct}
            for name, c in profile.columns.items()
        },
    }


def _details(assessment: Assessment, summary: dict[str, Any]) -> dict[str, Any]:
    report = assessment.report
    return {
        "profile": profile_to_json(assessment.profile),
        "summary": summary,
        "failures": [
            {
                "check": f.check,
                "dimension": f.dimension.value,
                "count": f.count,
                "column": f.column,
                "example_ids": list(f.example_ids),
            }
            for f in report.failures[:TOP_FAILURES]
        ],
        "evaluated": {d.value: n for d, n in report.evaluated.items()},
        "failed": {d.value: n for d, n in report.failed.items()},
        "mapping_rejected": report.mapping_rejected,
        "findings": len(assessment.findings),
        "volume_history": assessment.volume_history,
    }


# -- writing ------------------------------------------------------------------------------------


def save_assessment(
    warehouse: Warehouse,
    assessment: Assessment,
    *,
    measured_at: datetime | None = None,
    summary: dict[str, Any] | None = None,
) -> None:
    """Append one sync's assessment, its findings and the rollups (one transaction)."""
    tables = ensure_quality_tables(warehouse)
    at = measured_at or datetime.now(UTC)
    report, scores = assessment.report, assessment.scores
    if summary is None:
        summary = summary_of(assessment.profile, None, None)
    with warehouse.begin() as conn:
        conn.execute(
            insert(tables.metrics).values(
                measured_at=at,
                scope=SCOPE_SYNC,
                vendor=assessment.vendor,
                connection=assessment.connection,
                entity=assessment.entity,
                run_id=assessment.run_id,
                records=report.records,
                passed=report.passed,
                pass_rate=report.pass_rate,
                threshold=report.threshold,
                gate_passed=report.gate_passed,
                details=_details(assessment, summary),
                **scores.as_dict(),
            )
        )
        if assessment.findings:
            conn.execute(
                insert(tables.findings),
                [
                    {
                        "measured_at": at,
                        "run_id": assessment.run_id,
                        "vendor": assessment.vendor,
                        "connection": assessment.connection,
                        "entity": assessment.entity,
                        "kind": f.kind.value,
                        "metric": f.metric,
                        "column_name": f.column,
                        "value": f.value,
                        "expected": f.expected,
                        "score": f.score,
                        "message": f.message,
                    }
                    for f in assessment.findings
                ],
            )
        latest = _latest_syncs(conn, tables, assessment.vendor, at - ROLLUP_WINDOW)
        own = [row for row in latest if row.connection == assessment.connection]
        for scope, rows, connection in (
            (SCOPE_CONNECTION, own, assessment.connection),
            (SCOPE_INTEGRATION, latest, None),
        ):
            conn.execute(
                insert(tables.metrics).values(
                    measured_at=at,
                    scope=scope,
                    vendor=assessment.vendor,
                    connection=connection,
                    entity=None,
                    run_id=assessment.run_id,
                    **_rollup(rows, by_entity=scope == SCOPE_CONNECTION),
                )
            )


def _latest_syncs(
    conn: Connection, tables: QualityTables, vendor: str, since: datetime
) -> list[Row[Any]]:
    """The latest sync row of every (connection, entity) of `vendor` measured since `since`."""
    metrics = tables.metrics
    newest = (
        select(func.max(metrics.c.id))
        .where(
            metrics.c.scope == SCOPE_SYNC,
            metrics.c.vendor == vendor,
            metrics.c.measured_at >= since,
        )
        .group_by(metrics.c.connection, metrics.c.entity)
    )
    columns = [
        metrics.c[name]
        for name in (
            "connection",
            "entity",
            "run_id",
            "measured_at",
            "records",
            "passed",
            "gate_passed",
            *SCORE_COLUMNS,
        )
    ]
    query = select(*columns).where(metrics.c.id.in_(newest)).order_by(metrics.c.id)
    return list(conn.execute(query))


def _rollup(rows: Sequence[Row[Any]], *, by_entity: bool) -> dict[str, Any]:
    """Counts and record-weighted scores of `rows`; `details` list each entity (a
    connection's rollup) or count them and name the failing ones (an integration's, which
    may span hundreds of connections)."""
    records = sum(int(r.records) for r in rows)
    passed = sum(int(r.passed) for r in rows)
    values: dict[str, Any] = {
        "records": records,
        "passed": passed,
        "pass_rate": passed / records if records else 1.0,
        "threshold": None,
        "gate_passed": all(r.gate_passed is not False for r in rows),
    }
    for name in SCORE_COLUMNS:
        measured = [(max(int(r.records), 1), getattr(r, name)) for r in rows]
        measured = [(w, v) for w, v in measured if v is not None]
        weight = sum(w for w, _ in measured)
        values[name] = sum(w * v for w, v in measured) / weight if weight else None
    if values["overall"] is None:
        values["overall"] = 100.0
    if by_entity:
        values["details"] = {
            "entities": [
                {
                    "entity": r.entity,
                    "run_id": r.run_id,
                    "measured_at": r.measured_at.isoformat(),
                    "records": int(r.records),
                    "overall": r.overall,
                    "gate_passed": r.gate_passed,
                }
                for r in rows
            ]
        }
    else:
        failed = [f"{r.connection}/{r.entity}" for r in rows if r.gate_passed is False]
        values["details"] = {
            "connections": len({r.connection for r in rows}),
            "entities": len(rows),
            "gate_failed": failed[:ROLLUP_NAMED],
            "gate_failed_count": len(failed),
        }
    return values


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricRow:
    """One `quality_metrics` row."""

    measured_at: datetime
    scope: str
    vendor: str
    connection: str | None
    entity: str | None
    run_id: str | None
    records: int
    passed: int
    pass_rate: float
    threshold: float | None
    gate_passed: bool | None
    scores: dict[str, float | None]
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class StoredFinding:
    """One `quality_findings` row: a finding and the sync it belongs to."""

    measured_at: datetime
    run_id: str
    vendor: str
    connection: str
    entity: str
    finding: Finding


def _metric_row(row: Row[Any], *, with_details: bool) -> MetricRow:
    return MetricRow(
        measured_at=row.measured_at,
        scope=row.scope,
        vendor=row.vendor,
        connection=row.connection,
        entity=row.entity,
        run_id=row.run_id,
        records=int(row.records),
        passed=int(row.passed),
        pass_rate=float(row.pass_rate),
        threshold=row.threshold,
        gate_passed=row.gate_passed,
        scores={name: getattr(row, name) for name in SCORE_COLUMNS},
        details=row.details if with_details else None,
    )


def _columns(tables: QualityTables, with_details: bool) -> list[Any]:
    metrics = tables.metrics
    return [c for c in metrics.c if c.name != "details" or with_details]


def _syncs_of(metrics: Table, connection: str, entity: str) -> tuple[ColumnElement[bool], ...]:
    """The filter of one (connection, entity)'s `sync` rows."""
    return (
        metrics.c.scope == SCOPE_SYNC,
        metrics.c.connection == connection,
        metrics.c.entity == entity,
    )


def recent_metrics(
    warehouse: Warehouse, connection: str, entity: str, limit: int = 20, *, details: bool = True
) -> list[MetricRow]:
    """The latest `limit` sync rows of one (connection, entity), newest first."""
    tables = ensure_quality_tables(warehouse)
    metrics = tables.metrics
    query = (
        select(*_columns(tables, details))
        .where(*_syncs_of(metrics, connection, entity))
        .order_by(metrics.c.id.desc())
        .limit(limit)
    )
    with warehouse.read() as conn:
        return [_metric_row(row, with_details=details) for row in conn.execute(query)]


def metric_summaries(
    warehouse: Warehouse, connection: str, entity: str, limit: int = 1000
) -> list[tuple[datetime, dict[str, Any]]]:
    """(measured_at, summary) of the latest `limit` syncs, oldest first, read without the
    profiles' samples (the JSON is cut in SQL)."""
    tables = ensure_quality_tables(warehouse)
    metrics = tables.metrics
    if warehouse.dialect == "postgresql":
        summary = func.jsonb_extract_path(metrics.c.details, "summary", type_=JsonDocument)
    else:
        summary = func.json_extract(metrics.c.details, "$.summary", type_=JsonDocument)
    query = (
        select(metrics.c.measured_at, summary.label("summary"))
        .where(*_syncs_of(metrics, connection, entity))
        .order_by(metrics.c.id.desc())
        .limit(limit)
    )
    with warehouse.read() as conn:
        rows = [(row.measured_at, row.summary) for row in conn.execute(query)]
    return [(at, summary) for at, summary in reversed(rows) if isinstance(summary, dict)]


def reference_profiles(
    warehouse: Warehouse, connection: str, entity: str, limit: int = 20
) -> list[SyncProfile]:
    """The profiles of the latest `limit` syncs of one (connection, entity), newest first."""
    tables = ensure_quality_tables(warehouse)
    metrics = tables.metrics
    if warehouse.dialect == "postgresql":
        profile = func.jsonb_extract_path(metrics.c.details, "profile", type_=JsonDocument)
    else:
        profile = func.json_extract(metrics.c.details, "$.profile", type_=JsonDocument)
    query = (
        select(profile.label("profile"))
        .where(*_syncs_of(metrics, connection, entity))
        .order_by(metrics.c.id.desc())
        .limit(limit)
    )
    with warehouse.read() as conn:
        documents = [row.profile for row in conn.execute(query)]
    return [profile_from_json(d) for d in documents if isinstance(d, dict)]


def score_history(
    warehouse: Warehouse,
    vendor: str,
    connection: str | None = None,
    entity: str | None = None,
    since: datetime | None = None,
    *,
    details: bool = False,
) -> list[MetricRow]:
    """Scores over time, oldest first: of one (connection, entity) when `entity` is given
    (scope `sync`; with `connection`), of a connection's rollup when only `connection` is,
    else of the vendor's integration rollup."""
    tables = ensure_quality_tables(warehouse)
    metrics = tables.metrics
    query = select(*_columns(tables, details)).where(metrics.c.vendor == vendor)
    if entity is not None:
        query = query.where(metrics.c.scope == SCOPE_SYNC, metrics.c.entity == entity)
        if connection is not None:
            query = query.where(metrics.c.connection == connection)
    elif connection is not None:
        query = query.where(metrics.c.scope == SCOPE_CONNECTION, metrics.c.connection == connection)
    else:
        query = query.where(metrics.c.scope == SCOPE_INTEGRATION)
    if since is not None:
        query = query.where(metrics.c.measured_at >= since)
    with warehouse.read() as conn:
        rows = conn.execute(query.order_by(metrics.c.id))
        return [_metric_row(row, with_details=details) for row in rows]


def latest_findings(
    warehouse: Warehouse,
    *,
    vendor: str | None = None,
    connection: str | None = None,
    entity: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[StoredFinding]:
    """The latest findings, newest first, optionally of one vendor, connection or entity."""
    tables = ensure_quality_tables(warehouse)
    findings = tables.findings
    query = select(findings)
    for column, value in (("vendor", vendor), ("connection", connection), ("entity", entity)):
        if value is not None:
            query = query.where(findings.c[column] == value)
    if since is not None:
        query = query.where(findings.c.measured_at >= since)
    query = query.order_by(findings.c.id.desc()).limit(limit)
    with warehouse.read() as conn:
        return [
            StoredFinding(
                measured_at=row.measured_at,
                run_id=row.run_id,
                vendor=row.vendor,
                connection=row.connection,
                entity=row.entity,
                finding=Finding(
                    kind=FindingKind(row.kind),
                    metric=row.metric,
                    value=float(row.value),
                    expected=row.expected,
                    score=float(row.score),
                    column=row.column_name,
                    message=row.message,
                ),
            )
            for row in conn.execute(query)
        ]
