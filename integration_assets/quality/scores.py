"""The quality scores of one sync (0-100), as defined in `docs/quality.md`.

- Completeness, validity, consistency, accuracy: 100 x (1 - failed / evaluated) over the
  (record, check) evaluations of that dimension in the sync's `ValidationReport`; None when
  no check of the dimension ran (not measured is not perfect).
- Timeliness: how late the sync came against the cadence's allowance (one interval plus up
  to an hour of grace, `orchestration/cadence.py`): 100 when the previous successful sync is
  at most `allowed` minutes old, then falling linearly to 0 at twice the allowance (an hourly
  entity, allowance 2 h: 100 up to 2 h, 50 at 3 h, 0 from 4 h). None when unknown (the first
  sync, a manual cadence). When the gate also ran timeliness checks, the lower of the two.
- Overall: the weighted mean of the measured dimensions (`WEIGHTS`); 100 when none was
  measured (an empty first sync has shown nothing wrong).
"""

from __future__ import annotations

from integration_assets.quality.model import Dimension, Scores, ValidationReport

WEIGHTS: dict[Dimension, float] = {
    Dimension.COMPLETENESS: 0.25,
    Dimension.VALIDITY: 0.25,
    Dimension.CONSISTENCY: 0.20,
    Dimension.ACCURACY: 0.15,
    Dimension.TIMELINESS: 0.15,
}
"""Missing and malformed values break the most downstream (a quarter each); cross-field
rules and ranges a little less; lateness least, as late data is still right data."""


def dimension_score(report: ValidationReport, dimension: Dimension) -> float | None:
    evaluated = report.evaluated.get(dimension, 0)
    if evaluated <= 0:
        return None
    failed = min(report.failed.get(dimension, 0), evaluated)
    return 100.0 * (1.0 - failed / evaluated)


def timeliness_score(minutes_since_previous: float | None, allowed: float | None) -> float | None:
    """100 within the allowance, linear to 0 at twice it; None when either is unknown."""
    if minutes_since_previous is None or allowed is None or allowed <= 0:
        return None
    if minutes_since_previous <= allowed:
        return 100.0
    late = (minutes_since_previous - allowed) / allowed
    return max(0.0, 100.0 * (1.0 - late))


def compute_scores(
    report: ValidationReport,
    minutes_since_previous_sync: float | None = None,
    allowed_minutes: float | None = None,
) -> Scores:
    values: dict[Dimension, float | None] = {
        dimension: dimension_score(report, dimension) for dimension in Dimension
    }
    cadence = timeliness_score(minutes_since_previous_sync, allowed_minutes)
    checked = values[Dimension.TIMELINESS]
    measured_timeliness = [v for v in (cadence, checked) if v is not None]
    values[Dimension.TIMELINESS] = min(measured_timeliness) if measured_timeliness else None
    measured = {d: v for d, v in values.items() if v is not None}
    weight = sum(WEIGHTS[d] for d in measured)
    overall = sum(WEIGHTS[d] * v for d, v in measured.items()) / weight if weight else 100.0
    return Scores(
        completeness=values[Dimension.COMPLETENESS],
        validity=values[Dimension.VALIDITY],
        consistency=values[Dimension.CONSISTENCY],
        accuracy=values[Dimension.ACCURACY],
        timeliness=values[Dimension.TIMELINESS],
        overall=overall,
    )
