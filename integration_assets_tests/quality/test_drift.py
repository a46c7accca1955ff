"""Drift: the distances against hand-computed values, and the stories of a shifted category,
new and vanished categories, and stable columns that stay quiet."""

from __future__ import annotations

import math

import numpy as np
import pytest

from integration_assets.quality.drift import (
    bin_shares,
    drift_findings,
    js_distance,
    psi,
    quantile_edges,
    spread_unit,
    wasserstein,
)
from integration_assets.quality.model import ColumnKind, ColumnProfile, FindingKind, SyncProfile
from integration_assets.quality.settings import DriftSettings
from integration_assets_tests.quality.week import START, Week, profile_of


def test_psi_of_two_bins_matches_the_hand_computed_value() -> None:
    # (0.8 - 0.5) ln(0.8/0.5) + (0.2 - 0.5) ln(0.2/0.5) = 0.141001 + 0.274887
    assert psi([0.5, 0.5], [0.8, 0.2]) == pytest.approx(0.415888, abs=1e-6)
    assert psi([0.25] * 4, [0.25] * 4) == 0.0


def test_psi_gives_an_empty_bin_the_epsilon_share() -> None:
    # bin 3 is empty in the reference: (0.1 - 1e-4) ln(0.1 / 1e-4) = 0.690085,
    # bin 2: (0.4 - 0.5) ln(0.4 / 0.5) = 0.022314
    assert psi([0.5, 0.5, 0.0], [0.5, 0.4, 0.1]) == pytest.approx(0.712400, abs=1e-6)


def test_jensen_shannon_distance_matches_the_hand_computed_values() -> None:
    # M = (0.75, 0.25); KL(P||M) = log2(4/3) = 0.415037; KL(Q||M) = 0.207519;
    # JS = 0.311278 bits; distance = sqrt(JS)
    assert js_distance({"a": 1.0}, {"a": 0.5, "b": 0.5}) == pytest.approx(0.557923, abs=1e-6)
    assert js_distance({"a": 3, "b": 1}, {"a": 0.75, "b": 0.25}) == pytest.approx(0.0, abs=1e-9)
    assert js_distance({"a": 1.0}, {"b": 1.0}) == pytest.approx(1.0)


def test_wasserstein_in_units_of_the_reference_iqr() -> None:
    reference, shifted = [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]
    assert wasserstein(reference, shifted) == pytest.approx(1.0)
    # numpy's linear quantiles of 0..3: q1 = 0.75, q3 = 2.25
    assert spread_unit(reference) == pytest.approx(1.5)
    assert wasserstein([0.0, 0.0], [0.0, 2.0]) == pytest.approx(1.0)  # half the mass moves by 2


def test_quantile_bins_split_the_reference_into_tenths() -> None:
    reference = np.arange(1000, dtype=float)
    edges = quantile_edges(reference)
    assert len(edges) == 9
    assert bin_shares(reference, edges).tolist() == pytest.approx([0.1] * 10)
    # a value shared by most rows makes one bin rather than several empty ones
    assert len(quantile_edges([1.0] * 90 + list(range(10)))) < 9


def _status_profile(shares: dict[str, float], rows: int = 400) -> SyncProfile:
    categories = {name: round(share * rows) for name, share in shares.items()}
    total = sum(categories.values())
    column = ColumnProfile(
        "status", ColumnKind.CATEGORICAL, total, 0, len(categories), (), categories
    )
    return SyncProfile(rows=total, columns={"status": column})


USUAL = {"paid": 0.6, "pending": 0.2, "refunded": 0.1, "voided": 0.1}


def test_one_category_moving_from_10_to_60_percent_is_drift_naming_it() -> None:
    references = [_status_profile(USUAL) for _ in range(20)]
    shifted = {"paid": 0.2667, "pending": 0.0889, "refunded": 0.6, "voided": 0.0444}
    findings = drift_findings(_status_profile(shifted), references, DriftSettings())
    assert len(findings) == 1
    finding = findings[0]
    assert (finding.kind, finding.metric, finding.column) == (FindingKind.DRIFT, "js", "status")
    assert finding.value > finding.expected > DriftSettings().js_threshold
    assert "'refunded' 10% → 60%" in finding.message


def test_new_and_vanished_categories_are_named() -> None:
    references = [_status_profile(USUAL) for _ in range(20)]
    changed = {"paid": 0.6, "pending": 0.2, "refunded": 0.1, "chargeback": 0.1}
    [finding] = drift_findings(_status_profile(changed), references, DriftSettings())
    assert "new: 'chargeback'" in finding.message
    assert "vanished: 'voided'" in finding.message


def test_a_rare_category_missing_from_a_small_sync_is_not_called_vanished() -> None:
    rare = {"paid": 0.79, "pending": 0.2, "refunded": 0.01}
    references = [_status_profile(rare) for _ in range(20)]
    # 100 rows: one refund expected, none came; nothing unusual
    small = _status_profile({"paid": 0.8, "pending": 0.2}, rows=100)
    assert drift_findings(small, references, DriftSettings()) == []


def test_a_sync_drawn_from_the_reference_distributions_raises_nothing() -> None:
    week = Week(seed=5)
    references = [profile_of(week.rows(START, 300)) for _ in range(20)]
    assert drift_findings(profile_of(week.rows(START, 300)), references, DriftSettings()) == []


def test_a_shifted_numeric_column_is_drift_and_stable_columns_are_not() -> None:
    week = Week(seed=6)
    references = [profile_of(week.rows(START, 300)) for _ in range(20)]
    rows = week.rows(START, 300)
    for row in rows:
        row["total"] *= 3
    findings = drift_findings(profile_of(rows), references, DriftSettings())
    assert [(f.column, f.kind) for f in findings] == [("total", FindingKind.DRIFT)]
    assert findings[0].metric in ("psi", "wasserstein")
    assert "median" in findings[0].message


def test_too_few_references_or_rows_compare_nothing() -> None:
    shifted = _status_profile({"refunded": 1.0})
    references = [_status_profile(USUAL) for _ in range(3)]
    assert drift_findings(shifted, references, DriftSettings(), min_reference=7) == []
    tiny = _status_profile({"refunded": 1.0}, rows=20)
    assert drift_findings(tiny, references * 7, DriftSettings()) == []


def test_a_column_threshold_and_an_exclusion_override_the_defaults() -> None:
    references = [_status_profile(USUAL) for _ in range(20)]
    moved = _status_profile({"paid": 0.4, "pending": 0.3, "refunded": 0.2, "voided": 0.1})
    assert drift_findings(moved, references, DriftSettings()) != []
    lenient = DriftSettings(column_thresholds={"status": 0.5})
    assert drift_findings(moved, references, lenient) == []
    assert drift_findings(moved, references, DriftSettings(exclude=("status",))) == []


def test_distance_limits_grow_on_small_syncs() -> None:
    references = [_status_profile(USUAL) for _ in range(20)]
    moved = {"paid": 0.4, "pending": 0.3, "refunded": 0.2, "voided": 0.1}
    [large] = drift_findings(_status_profile(moved, rows=5000), references, DriftSettings())
    [small] = drift_findings(_status_profile(moved, rows=200), references, DriftSettings())
    assert small.expected > large.expected > DriftSettings().js_threshold
    assert math.isclose(large.value, small.value, rel_tol=0.01)
