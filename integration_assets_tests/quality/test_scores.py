"""Scores: each dimension from the report's evaluations, timeliness from the cadence, and the
weighted overall score."""

from __future__ import annotations

import pytest

from integration_assets.quality.model import Dimension, ValidationReport
from integration_assets.quality.scores import WEIGHTS, compute_scores, timeliness_score


def test_a_dimension_scores_the_share_of_its_evaluations_that_passed() -> None:
    report = ValidationReport(
        records=100,
        passed=90,
        evaluated={Dimension.COMPLETENESS: 200, Dimension.VALIDITY: 100},
        failed={Dimension.COMPLETENESS: 10, Dimension.VALIDITY: 25},
    )
    scores = compute_scores(report)
    assert scores.completeness == pytest.approx(95.0)
    assert scores.validity == pytest.approx(75.0)
    assert scores.consistency is None and scores.accuracy is None and scores.timeliness is None
    # weighted mean of the two measured: (0.25 * 95 + 0.25 * 75) / 0.5
    assert scores.overall == pytest.approx(85.0)


def test_timeliness_is_full_within_the_allowance_then_falls_to_zero_at_twice_it() -> None:
    assert timeliness_score(60, 120) == 100.0
    assert timeliness_score(120, 120) == 100.0
    assert timeliness_score(180, 120) == pytest.approx(50.0)
    assert timeliness_score(240, 120) == 0.0
    assert timeliness_score(1000, 120) == 0.0
    assert timeliness_score(None, 120) is None  # the first sync
    assert timeliness_score(60, None) is None  # a manual cadence is never late


def test_overall_weighs_every_measured_dimension() -> None:
    report = ValidationReport(
        records=10,
        passed=10,
        evaluated={d: 10 for d in Dimension if d != Dimension.TIMELINESS},
        failed={Dimension.CONSISTENCY: 5, Dimension.ACCURACY: 10},
    )
    scores = compute_scores(report, minutes_since_previous_sync=150, allowed_minutes=100)
    assert scores.timeliness == pytest.approx(50.0)
    expected = (
        WEIGHTS[Dimension.COMPLETENESS] * 100
        + WEIGHTS[Dimension.VALIDITY] * 100
        + WEIGHTS[Dimension.CONSISTENCY] * 50
        + WEIGHTS[Dimension.ACCURACY] * 0
        + WEIGHTS[Dimension.TIMELINESS] * 50
    )
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    assert scores.overall == pytest.approx(expected)
    assert scores.overall == pytest.approx(67.5)


def test_timeliness_takes_the_worse_of_the_cadence_and_the_gate_checks() -> None:
    report = ValidationReport(
        records=10,
        passed=10,
        evaluated={Dimension.TIMELINESS: 10},
        failed={Dimension.TIMELINESS: 2},
    )
    assert compute_scores(report, 30, 120).timeliness == pytest.approx(80.0)
    assert compute_scores(report, 210, 120).timeliness == pytest.approx(25.0)
    assert compute_scores(report).timeliness == pytest.approx(80.0)


def test_a_sync_where_nothing_was_measured_scores_100_overall() -> None:
    scores = compute_scores(ValidationReport(records=0, passed=0))
    assert scores.as_dict() == {
        "completeness": None,
        "validity": None,
        "consistency": None,
        "accuracy": None,
        "timeliness": None,
        "overall": 100.0,
    }
