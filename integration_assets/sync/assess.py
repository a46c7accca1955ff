"""A sync's load with its quality assessment, as one step with no Dagster in sight.

`load_and_assess` profiles the rows the gate passes (`quality.profile.ColumnProfiler` on the
load's `on_valid_rows` hook), then scores the sync, looks for anomalies and drift against the
stored history and stores it all (`quality.assess.assess_sync`). A sync the gate stopped is
assessed too, from the report it stopped with, so the failure is in the quality history (the
console, the alerts) and not only in a log line: its `QualityGateError` leaves carrying the
assessment.
"""

from __future__ import annotations

from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.assess import assess_sync
from integration_assets.quality.gate import QualityGateError
from integration_assets.quality.model import Assessment, ValidationReport
from integration_assets.quality.profile import ColumnProfiler
from integration_assets.sync.steps import ExtractResult, LoadResult, SyncSettings, run_load
from integration_assets.sync.target import SyncTarget


def load_and_assess(
    target: SyncTarget,
    warehouse: Warehouse,
    extracted: ExtractResult,
    *,
    run_id: str,
    settings: SyncSettings | None = None,
    minutes_since_previous_sync: float | None = None,
    allowed_minutes: float | None = None,
) -> tuple[LoadResult, Assessment]:
    """`run_load`, then the assessment of what it validated.

    `minutes_since_previous_sync` and `allowed_minutes` feed the timeliness score (None: a
    first sync, and a manual cadence). Raises `QualityGateError` (with `.assessment` set)
    when the gate stopped the sync, having published nothing.
    """
    table = target.mapping.tables[0]
    quality = target.mapping.quality
    profiler = ColumnProfiler(table, quality.drift)

    def assess(report: ValidationReport) -> Assessment:
        return assess_sync(
            warehouse,
            vendor=target.connection.vendor,
            connection=target.connection.name,
            entity=target.entity_name,
            run_id=run_id,
            table=table,
            report=report,
            profile=profiler.result(),
            settings=quality,
            minutes_since_previous_sync=minutes_since_previous_sync,
            allowed_minutes=allowed_minutes,
        )

    try:
        loaded = run_load(
            target,
            warehouse,
            extracted,
            run_id=run_id,
            settings=settings,
            on_valid_rows=profiler.observe,
        )
    except QualityGateError as stopped:
        stopped.assessment = assess(stopped.report)
        raise
    assert loaded.quality is not None  # run_load always validates
    return loaded, assess(loaded.quality)
