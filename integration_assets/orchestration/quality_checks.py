"""The quality checks of each sync asset, and the results one sync's `Assessment` makes of them.

Every sync asset carries seven checks, executed by its own `load` op (not separately: they
judge the rows the sync validated, which only the load sees):

- `quality` (blocking): the validation gate. It fails with severity ERROR when the sync's pass
  rate is under the entity's threshold; the load op then records the check results and fails
  the step without retries (a retry would validate the same records again), so the asset
  does not materialize and the assets that depend on it do not run.
- `completeness`, `validity`, `consistency`, `accuracy`: one per quality dimension, WARN
  when the dimension's score (0-100) is under `DIMENSION_WARN_BELOW`; a dimension with no
  checks on the entity passes ("not measured").
- `volume_anomaly`: the row count, null rates and distinct counts against their robust
  baselines (the anomaly detector's findings: volume, null rate and distinct count). WARN
  when any is found, naming them.
- `drift`: the column distributions against the reference window (PSI, Wasserstein,
  Jensen-Shannon). WARN when any column drifted, naming it.

The fifth dimension, timeliness, is the separate `timeliness` check (`timeliness.py`): it is
measured between syncs, not by one.

Numbers go into check metadata as plain floats and ints, so the UI plots them over time;
the most common failures go into a short table (check, column, count, example record ids:
vendor ids only, never personal data). Nothing here queries anything: `check_results` is a
pure function of an `Assessment`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    Failure,
    MetadataValue,
    Nothing,
    Out,
    TableColumn,
    TableRecord,
    TableSchema,
)

from integration_assets.alerts.message import redact_message
from integration_assets.quality.model import (
    Assessment,
    Dimension,
    FailureCount,
    Finding,
    FindingKind,
    SyncProfile,
    ValidationReport,
)
from integration_assets.quality.scores import compute_scores

QUALITY = "quality"
VOLUME_ANOMALY = "volume_anomaly"
DRIFT = "drift"
DIMENSIONS = (Dimension.COMPLETENESS, Dimension.VALIDITY, Dimension.CONSISTENCY, Dimension.ACCURACY)
CHECK_NAMES = (QUALITY, *(d.value for d in DIMENSIONS), VOLUME_ANOMALY, DRIFT)
DIMENSION_WARN_BELOW = 95.0
"""A dimension check warns when its score is under this (more than one evaluation in twenty
of that dimension failed)."""
ANOMALY_KINDS = frozenset(
    {FindingKind.VOLUME_ANOMALY, FindingKind.NULL_RATE_ANOMALY, FindingKind.DISTINCT_ANOMALY}
)
TOP_FAILURES = 10
"""Rows of the failures table shown on a check."""
GATE_ERROR = "QualityGateError"
"""How a step the gate stopped names its failure (`QualityGateError: <reasons>`)."""
GATE_REASONS = 3
"""Failures named in the message of a step that the gate stopped."""

_DESCRIPTIONS = {
    QUALITY: (
        "Blocking: the share of the sync's records that passed every check, against the "
        "entity's threshold. Under it, nothing is published and dependent assets do not run."
    ),
    Dimension.COMPLETENESS.value: "Required values present (score 0-100).",
    Dimension.VALIDITY.value: "Types, enums, formats and key uniqueness (score 0-100).",
    Dimension.CONSISTENCY.value: "Cross-field rules such as updated_at >= created_at (0-100).",
    Dimension.ACCURACY.value: "Values in range, checksums (score 0-100).",
    VOLUME_ANOMALY: (
        "Row count, null rates and distinct counts against robust baselines of the recent "
        "syncs (median and MAD)."
    ),
    DRIFT: "Column distributions against the recent syncs (PSI, Wasserstein, Jensen-Shannon).",
}
_FAILURES_TABLE = TableSchema(
    columns=[
        TableColumn("check", "string"),
        TableColumn("dimension", "string"),
        TableColumn("column", "string"),
        TableColumn("count", "int"),
        TableColumn("example_ids", "string", description="vendor record ids, at most five"),
    ]
)
_FINDINGS_TABLE = TableSchema(
    columns=[
        TableColumn("kind", "string"),
        TableColumn("metric", "string"),
        TableColumn("column", "string"),
        TableColumn("value", "float"),
        TableColumn("expected", "float", description="baseline median, or drift threshold"),
        TableColumn("score", "float", description="robust z, or distance over threshold"),
        TableColumn("message", "string"),
    ]
)


def quality_check_specs(key: AssetKey) -> list[AssetCheckSpec]:
    """The seven checks of the sync asset `key`, in the order the UI lists them."""
    return [
        AssetCheckSpec(
            name=name,
            asset=key,
            description=_DESCRIPTIONS[name],
            blocking=name == QUALITY,
        )
        for name in CHECK_NAMES
    ]


def sync_check_keys(keys: Iterable[AssetKey]) -> list[AssetCheckKey]:
    """The quality checks of the sync assets `keys`: a run that syncs an asset must select
    them (its load op executes them, and a graph asset cannot be subset by check)."""
    return [AssetCheckKey(key, name) for key in keys for name in CHECK_NAMES]


def check_outs(key: AssetKey) -> dict[str, Out]:
    """The load op's outputs for the checks, as the graph asset maps them (by the spec's
    Python identifier). Not required: a sync without an assessment (a webhook load) yields
    none, and then the checks show as not executed rather than failing the step."""
    return {
        spec.get_python_identifier(): Out(Nothing, is_required=False)
        for spec in quality_check_specs(key)
    }


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _failures_table(failures: Sequence[FailureCount]) -> MetadataValue:
    return MetadataValue.table(
        records=[
            TableRecord(
                {
                    "check": f.check,
                    "dimension": f.dimension.value,
                    "column": f.column or "",
                    "count": f.count,
                    "example_ids": ", ".join(f.example_ids[:5]),
                }
            )
            for f in failures[:TOP_FAILURES]
        ],
        schema=_FAILURES_TABLE,
    )


def _findings_table(findings: Sequence[Finding]) -> MetadataValue:
    return MetadataValue.table(
        records=[
            TableRecord(
                {
                    "kind": f.kind.value,
                    "metric": f.metric,
                    "column": f.column or "",
                    "value": float(f.value),
                    "expected": float(f.expected) if f.expected is not None else None,
                    "score": round(float(f.score), 3),
                    "message": redact_message(f.message),
                }
            )
            for f in findings
        ],
        schema=_FINDINGS_TABLE,
    )


def describe_failure(failure: FailureCount) -> str:
    """`email on email: 12 records` — a failure as a person reads it."""
    where = f" on {failure.column}" if failure.column else ""
    return f"{failure.check}{where}: {failure.count}"


def gate_reasons(assessment: Assessment, limit: int = GATE_REASONS) -> str:
    """Why the gate stopped the sync: the pass rate and the most common failures."""
    report = assessment.report
    top = "; ".join(describe_failure(f) for f in report.failures[:limit])
    reasons = (
        f"{assessment.connection}/{assessment.entity}: {report.passed} of {report.records} "
        f"records passed ({_pct(report.pass_rate)}), under the threshold of "
        f"{_pct(report.threshold)}; nothing was published"
    )
    if report.mapping_rejected:
        reasons += f"; {report.mapping_rejected} could not be mapped"
    return f"{reasons}. Most common failures: {top}" if top else reasons + "."


def _result(
    assessment: Assessment,
    name: str,
    *,
    passed: bool,
    description: str,
    metadata: dict[str, object],
    severity: AssetCheckSeverity = AssetCheckSeverity.WARN,
) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=AssetKey([assessment.vendor, assessment.entity]),
        check_name=name,
        passed=passed,
        severity=severity,
        description=description,
        metadata={"connection": assessment.connection, **metadata},
    )


def _gate(assessment: Assessment) -> AssetCheckResult:
    report = assessment.report
    if report.gate_passed:
        description = (
            f"{_pct(report.pass_rate)} of {report.records} records passed "
            f"(threshold {_pct(report.threshold)})"
        )
    else:
        description = "Gate failed: " + gate_reasons(assessment)
    return _result(
        assessment,
        QUALITY,
        passed=report.gate_passed,
        severity=AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "pass_rate": float(report.pass_rate),
            "threshold": float(report.threshold),
            "records": report.records,
            "records_passed": report.passed,
            "records_failed": report.records - report.passed,
            "mapping_rejected": report.mapping_rejected,
            "score": float(assessment.scores.overall),
            "failures": _failures_table(report.failures),
        },
    )


def _dimension(assessment: Assessment, dimension: Dimension, warn_below: float) -> AssetCheckResult:
    report = assessment.report
    score = assessment.scores.as_dict()[dimension.value]
    evaluated = report.evaluated.get(dimension, 0)
    failed = report.failed.get(dimension, 0)
    failures = [f for f in report.failures if f.dimension is dimension]
    metadata: dict[str, object] = {
        "evaluated": evaluated,
        "failed": failed,
        "failures": _failures_table(failures),
    }
    if score is None:
        return _result(
            assessment,
            dimension.value,
            passed=True,
            description=f"Not measured: the entity has no {dimension.value} checks",
            metadata=metadata,
        )
    metadata["score"] = float(score)
    passed = score >= warn_below
    description = f"Score {score:.1f} ({failed} of {evaluated} evaluations failed)"
    if not passed:
        top = "; ".join(describe_failure(f) for f in failures[:GATE_REASONS])
        description = f"Score {score:.1f} under {warn_below:g}: " + (
            top or f"{failed} of {evaluated} evaluations failed"
        )
    return _result(
        assessment, dimension.value, passed=passed, description=description, metadata=metadata
    )


def _finding_key(finding: Finding) -> str:
    return f"{finding.metric}/{finding.column}" if finding.column else finding.metric


def _findings_result(
    assessment: Assessment, name: str, findings: Sequence[Finding], metadata: dict[str, object]
) -> AssetCheckResult:
    for finding in findings:
        metadata[_finding_key(finding)] = float(finding.value)
        metadata[f"{_finding_key(finding)}/score"] = round(float(finding.score), 3)
    metadata["findings"] = _findings_table(findings)
    metadata["baseline_syncs"] = assessment.volume_history
    if findings:
        what = "; ".join(redact_message(f.message) or _finding_key(f) for f in findings)
        description = f"{len(findings)} found: {what}"
    else:
        description = f"None found (baseline of {assessment.volume_history} earlier syncs)"
    return _result(
        assessment, name, passed=not findings, description=description, metadata=metadata
    )


def check_results(
    assessment: Assessment, *, warn_below: float = DIMENSION_WARN_BELOW
) -> list[AssetCheckResult]:
    """One result per check of `quality_check_specs`, in the same order."""
    anomalies = [f for f in assessment.findings if f.kind in ANOMALY_KINDS]
    drifts = [f for f in assessment.findings if f.kind is FindingKind.DRIFT]
    return [
        _gate(assessment),
        *(_dimension(assessment, d, warn_below) for d in DIMENSIONS),
        _findings_result(
            assessment,
            VOLUME_ANOMALY,
            anomalies,
            {"records": assessment.report.records, "profiled_rows": assessment.profile.rows},
        ),
        _findings_result(assessment, DRIFT, drifts, {"drifted_columns": len(drifts)}),
    ]


def webhook_check_results(
    *, vendor: str, connection: str, entity: str, run_id: str, report: ValidationReport
) -> list[AssetCheckResult]:
    """The checks a webhook load can honestly report: its gate and the four dimensions.

    A webhook load is gated record by record without a threshold (one bad event must not hold
    up every other one), so its `quality` check passes and says how many records passed; its
    few events are no sample for anomalies or drift, so `volume_anomaly` and `drift` are left
    unexecuted (the UI shows them skipped for that run) rather than claimed. Without these
    results every check of a realtime entity would show as skipped after each webhook run.
    """
    ungated = replace(report, threshold=0.0)
    assessment = Assessment(
        connection=connection,
        vendor=vendor,
        entity=entity,
        run_id=run_id,
        report=ungated,
        profile=SyncProfile(rows=0),
        scores=compute_scores(ungated),
    )
    return check_results(assessment)[: 1 + len(DIMENSIONS)]


def gate_failure(assessment: Assessment) -> Failure:
    """The step failure of a sync the gate stopped: permanent (a retry would validate the
    same records again), naming the pass rate and the most common failures."""
    return Failure(
        description=f"{GATE_ERROR}: {gate_reasons(assessment)}",
        metadata={"pass_rate": float(assessment.report.pass_rate)},
        allow_retries=False,
    )


def report_quality(assessment: Assessment | None) -> Iterator[AssetCheckResult]:
    """What the load op yields about a sync's quality: every check result, then, when the gate
    failed, a non-retryable `Failure` naming the top reasons. The results are recorded before
    the step fails, so the UI shows why the asset did not materialize. None (a sync with no
    assessment, e.g. a webhook load) yields nothing.

    Call it after yielding the asset's output when the gate passed (so the checks target the
    new materialization), and without yielding it when the gate failed.
    """
    if assessment is None:
        return
    yield from check_results(assessment)
    if not assessment.report.gate_passed:
        raise gate_failure(assessment)
