"""One sync's quality assessment: scores, anomalies and drift against the stored history.

`assess_sync` is what the Dagster wiring calls once the gate of a (connection, entity) sync
has its `ValidationReport` and `SyncProfile`. It reads the entity's history from
`quality_metrics` (a light summary of up to `HISTORY_SYNCS` syncs, the profiles of the last
`reference_syncs`), backfills the volume history from the warehouse table itself while
fewer than `min_history` syncs are stored, stores the result (append-only) and returns it.

Which anomalies are looked for (see `anomaly.py` for the baseline):

- volume: records changed per hour since the previous sync (only when that time is known);
- null rate of every column of a sync with at least `MIN_COLUMN_ROWS` rows;
- distinct count of categorical columns, and distinct share (distinct / non-null values) of
  keys and free text; not of numeric columns, whose distribution drift covers, and whose
  distinct count follows the sync's size.

Drift (`drift.py`) needs at least `min(min_history, reference_syncs)` earlier profiles, so a
new entity reports nothing at all until it has a history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.anomaly import (
    BACKFILL_WEEKS,
    Point,
    distinct_finding,
    null_rate_finding,
    per_hour,
    volume_finding,
    volume_history_from_table,
)
from integration_assets.quality.drift import drift_findings
from integration_assets.quality.model import (
    Assessment,
    ColumnKind,
    Finding,
    SyncProfile,
    ValidationReport,
)
from integration_assets.quality.scores import compute_scores
from integration_assets.quality.settings import AnomalySettings, QualitySettings
from integration_assets.quality.store import (
    metric_summaries,
    reference_profiles,
    save_assessment,
    summary_of,
)
from integration_assets.schema import TableSchema

HISTORY_SYNCS = 700
"""Earlier syncs read for the anomaly baselines: four weeks of hourly syncs, enough for the
weekday-and-hour slots (three of each)."""
MIN_COLUMN_ROWS = 50
"""A column's null rate and distinct count are compared only on syncs with this many rows
(the same as drift's default `min_rows`): on fewer, one row moves the rate by 2 points."""


def assess_sync(
    warehouse: Warehouse,
    *,
    vendor: str,
    connection: str,
    entity: str,
    run_id: str,
    table: TableSchema,
    report: ValidationReport,
    profile: SyncProfile,
    settings: QualitySettings,
    minutes_since_previous_sync: float | None,
    allowed_minutes: float | None,
    now: datetime | None = None,
) -> Assessment:
    """Score, compare and store one sync; returns what was stored.

    `minutes_since_previous_sync`: since the previous successful sync of the entity (None
    for the first); `allowed_minutes`: the cadence's allowance (None: never late).
    """
    now = now or datetime.now(UTC)
    scores = compute_scores(report, minutes_since_previous_sync, allowed_minutes)
    history = metric_summaries(warehouse, connection, entity, HISTORY_SYNCS)
    volume = per_hour(report.records, minutes_since_previous_sync)
    findings: list[Finding] = []

    volume_points = _volume_points(history)
    if len(volume_points) < settings.anomaly.min_history:
        volume_points = _backfilled(
            warehouse, table, connection, volume_points, now, minutes_since_previous_sync
        )
    if volume is not None:
        finding = volume_finding(volume, now, volume_points, settings.anomaly)
        if finding is not None:
            findings.append(finding)

    findings += _column_findings(profile, history, now, settings.anomaly)
    drift = settings.drift
    references = reference_profiles(warehouse, connection, entity, drift.reference_syncs)
    findings += drift_findings(
        profile,
        references,
        drift,
        min_reference=min(settings.anomaly.min_history, drift.reference_syncs),
    )
    assessment = Assessment(
        connection=connection,
        vendor=vendor,
        entity=entity,
        run_id=run_id,
        report=report,
        profile=profile,
        scores=scores,
        findings=tuple(findings),
        volume_history=len(volume_points),
    )
    save_assessment(
        warehouse,
        assessment,
        measured_at=now,
        summary=summary_of(profile, volume, minutes_since_previous_sync),
    )
    return assessment


def _volume_points(history: Iterable[tuple[datetime, dict[str, Any]]]) -> list[Point]:
    return [
        Point(at, float(summary["per_hour"]))
        for at, summary in history
        if summary.get("per_hour") is not None
    ]


def _backfilled(
    warehouse: Warehouse,
    table: TableSchema,
    connection: str,
    points: list[Point],
    now: datetime,
    minutes: float | None,
) -> list[Point]:
    """Stored points, preceded by counts from the table before the first of them (and
    before this sync's own window, whose rows are already loaded). Counted per hour for
    entities synced more often than every six hours, else per day, so the backfilled
    periods are like the syncs they stand in for."""
    interval = timedelta(minutes=minutes if minutes is not None else 60.0)
    period = timedelta(hours=1) if interval < timedelta(hours=6) else timedelta(days=1)
    until = min([now - interval, *(p.at - interval for p in points[:1])])
    backfill = volume_history_from_table(
        warehouse,
        table,
        connection,
        period=period,
        since=until - timedelta(weeks=BACKFILL_WEEKS),
        until=until,
    )
    return backfill + points


def _column_findings(
    profile: SyncProfile,
    history: list[tuple[datetime, dict[str, Any]]],
    now: datetime,
    settings: AnomalySettings,
) -> list[Finding]:
    findings: list[Finding] = []
    for name, column in profile.columns.items():
        if column.count < MIN_COLUMN_ROWS:
            continue
        past = [
            (at, summary["columns"][name])
            for at, summary in history
            if name in summary.get("columns", {})
            and summary["columns"][name]["count"] >= MIN_COLUMN_ROWS
        ]
        nulls = [Point(at, c["nulls"] / c["count"]) for at, c in past]
        finding = null_rate_finding(name, column.null_rate, column.count, now, nulls, settings)
        if finding is not None:
            findings.append(finding)
        present = column.count - column.nulls
        if column.kind == ColumnKind.CATEGORICAL:
            same_kind = [(at, c) for at, c in past if c["kind"] == column.kind.value]
            points = [Point(at, float(c["distinct"])) for at, c in same_kind]
            finding = distinct_finding(
                name, float(column.distinct), now, points, settings, ratio=False
            )
        elif column.kind == ColumnKind.OTHER and present >= MIN_COLUMN_ROWS:
            points = [
                Point(at, c["distinct"] / (c["count"] - c["nulls"]))
                for at, c in past
                if c["kind"] == column.kind.value and c["count"] - c["nulls"] >= MIN_COLUMN_ROWS
            ]
            finding = distinct_finding(
                name, column.distinct / present, now, points, settings, ratio=True
            )
        else:
            finding = None
        if finding is not None:
            findings.append(finding)
    return findings
