"""Real `Assessment` values of one customers sync, good and bad, as the quality stage makes them."""

from __future__ import annotations

from dataclasses import replace

from integration_assets.quality.model import (
    Assessment,
    ColumnKind,
    ColumnProfile,
    Dimension,
    FailureCount,
    Finding,
    FindingKind,
    Scores,
    SyncProfile,
    ValidationReport,
)

FAILURES = (
    FailureCount("email", Dimension.VALIDITY, 40, "email", ("7001", "7002", "7003")),
    FailureCount("required", Dimension.COMPLETENESS, 9, "created_at", ("7010",)),
    FailureCount("updated_after_created", Dimension.CONSISTENCY, 2, None, ("7020", "7021")),
)
PROFILE = SyncProfile(
    rows=600,
    columns={
        "state": ColumnProfile(
            "state", ColumnKind.CATEGORICAL, 600, 0, 3, categories={"enabled": 550}
        ),
        "orders_count": ColumnProfile(
            "orders_count", ColumnKind.NUMERIC, 600, 0, 40, sample=(1.0, 2.0, 3.0)
        ),
    },
)


def good_sync(run_id: str = "run-good", connection: str = "demo-shop") -> Assessment:
    """600 of 620 records passed (96.8%, over the 95% threshold); validity scores 93.5."""
    report = ValidationReport(
        records=620,
        passed=600,
        threshold=0.95,
        evaluated={
            Dimension.COMPLETENESS: 3100,
            Dimension.VALIDITY: 620,
            Dimension.CONSISTENCY: 620,
        },
        failed={Dimension.COMPLETENESS: 9, Dimension.VALIDITY: 40, Dimension.CONSISTENCY: 2},
        failures=FAILURES,
    )
    scores = Scores(
        completeness=99.7,
        validity=93.5,
        consistency=99.7,
        accuracy=None,
        timeliness=100.0,
        overall=97.9,
    )
    return Assessment(
        connection=connection,
        vendor="shopify",
        entity="customers",
        run_id=run_id,
        report=report,
        profile=PROFILE,
        scores=scores,
        volume_history=12,
    )


def bad_sync(run_id: str = "run-bad", connection: str = "demo-shop") -> Assessment:
    """Half the records failed the email check: under the threshold, the gate stops the sync."""
    good = good_sync(run_id, connection)
    report = replace(
        good.report,
        passed=310,
        failed={**good.report.failed, Dimension.VALIDITY: 310},
        failures=(replace(FAILURES[0], count=310), *FAILURES[1:]),
    )
    return replace(good, report=report, scores=replace(good.scores, validity=50.0, overall=61.0))


VOLUME_DROP = Finding(
    kind=FindingKind.VOLUME_ANOMALY,
    metric="rows",
    value=600.0,
    expected=2400.0,
    score=-6.2,
    message="rows 600 against a median of 2400 (robust z -6.2)",
)
STATE_DRIFT = Finding(
    kind=FindingKind.DRIFT,
    metric="js",
    value=0.31,
    expected=0.1,
    score=3.1,
    column="state",
    message="state: Jensen-Shannon 0.31 over 0.1; new category 'paused'",
)


def with_findings(assessment: Assessment, *findings: Finding) -> Assessment:
    return replace(assessment, findings=findings)
