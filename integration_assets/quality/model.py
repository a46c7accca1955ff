"""What the quality stage hands to the rest: plain, frozen values, no Dagster, no frames.

- `ValidationReport`: what the gate of one sync saw (records, passes, failures per
  dimension and per check), and whether the sync may publish.
- `SyncProfile`: per column of the entity's own table, the figures anomaly and drift
  detection compare over time (null rate, distinct count, a bounded numeric sample,
  category counts).
- `Finding`: one anomaly or drift the detectors found.
- `Scores`: the five dimension scores and the overall score (0-100; see `docs/quality.md`).
- `Assessment`: all of one sync's quality results, as stored and as shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_THRESHOLD = 0.95
"""An entity's default pass-rate threshold: below it, a sync publishes nothing."""


class Dimension(StrEnum):
    """The five quality dimensions; every check belongs to exactly one."""

    COMPLETENESS = "completeness"  # required values present
    VALIDITY = "validity"  # types, enums, formats, key uniqueness
    CONSISTENCY = "consistency"  # cross-field rules (updated_at >= created_at, totals)
    ACCURACY = "accuracy"  # ranges, checksums
    TIMELINESS = "timeliness"  # synced within the connection's cadence


@dataclass(frozen=True)
class FailureCount:
    """One kind of failure in a sync: a check on a column, how often, and whose records."""

    check: str
    """The check's name: `required`, `type`, `enum`, `email`, `e164`, `range`, `unique`, or a
    registered Python check such as `updated_after_created`."""
    dimension: Dimension
    count: int
    column: str | None = None
    example_ids: tuple[str, ...] = ()
    """Up to five record keys (vendor ids, never personal data)."""


@dataclass(frozen=True)
class ValidationReport:
    """What the gate of one sync saw, over every batch of the sync."""

    records: int
    """Records validated (the entity's own records; child rows count with their parent)."""
    passed: int
    """Records that passed every check (and were published, when the gate passed)."""
    threshold: float = DEFAULT_THRESHOLD
    evaluated: dict[Dimension, int] = field(default_factory=dict)
    """Per dimension, how many (record, check) evaluations ran."""
    failed: dict[Dimension, int] = field(default_factory=dict)
    """Per dimension, how many of those failed."""
    failures: tuple[FailureCount, ...] = ()
    """Most common first."""
    mapping_rejected: int = 0
    """Records the mapping itself could not turn into rows (counted in `records`, failed)."""

    @property
    def pass_rate(self) -> float:
        """Share of records that passed; an empty sync passes (1.0)."""
        return self.passed / self.records if self.records else 1.0

    @property
    def gate_passed(self) -> bool:
        return self.pass_rate >= self.threshold


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    OTHER = "other"


@dataclass(frozen=True)
class ColumnProfile:
    """One column of one sync, in bounded memory whatever the sync's size."""

    name: str
    kind: ColumnKind
    count: int
    nulls: int
    distinct: int
    """Exact up to a cap, then an estimate (see `quality/profile.py`)."""
    sample: tuple[float, ...] = ()
    """Numeric columns: a uniform sample of at most a few thousand values."""
    categories: dict[str, int] = field(default_factory=dict)
    """Categorical columns: counts of the most common values (bounded); the rest under
    `OTHER_CATEGORY`."""

    @property
    def null_rate(self) -> float:
        return self.nulls / self.count if self.count else 0.0


OTHER_CATEGORY = "__other__"


@dataclass(frozen=True)
class SyncProfile:
    """The profile of the rows one sync validated, per column of the entity's own table."""

    rows: int
    columns: dict[str, ColumnProfile] = field(default_factory=dict)


class FindingKind(StrEnum):
    VOLUME_ANOMALY = "volume_anomaly"
    NULL_RATE_ANOMALY = "null_rate_anomaly"
    DISTINCT_ANOMALY = "distinct_anomaly"
    DRIFT = "drift"


@dataclass(frozen=True)
class Finding:
    """One anomaly or drift found in a sync."""

    kind: FindingKind
    metric: str
    """What was measured: `rows`, `null_rate`, `distinct`, `psi`, `wasserstein`, `js`."""
    value: float
    """The sync's value (the distance, for drift)."""
    expected: float | None
    """The baseline (median) for anomalies; the threshold for drift."""
    score: float
    """Robust z-score for anomalies; distance over threshold for drift."""
    column: str | None = None
    message: str = ""
    """One line a person reads: what moved, how far, new and vanished categories by name."""


@dataclass(frozen=True)
class Scores:
    """Dimension scores and the overall quality score, each 0-100 (None: not measured)."""

    completeness: float | None
    validity: float | None
    consistency: float | None
    accuracy: float | None
    timeliness: float | None
    overall: float

    def as_dict(self) -> dict[str, float | None]:
        return {
            "completeness": self.completeness,
            "validity": self.validity,
            "consistency": self.consistency,
            "accuracy": self.accuracy,
            "timeliness": self.timeliness,
            "overall": self.overall,
        }


@dataclass(frozen=True)
class Assessment:
    """One sync's quality results: stored in `quality_metrics`, shown as check results."""

    connection: str
    vendor: str
    entity: str
    run_id: str
    report: ValidationReport
    profile: SyncProfile
    scores: Scores
    findings: tuple[Finding, ...] = ()
    volume_history: int = 0
    """How many earlier syncs (or backfilled periods) the baselines were computed from."""
