"""Drift: how far a sync's column distributions moved from a reference window.

Distances, not p-values: with thousands of rows every tiny move is "significant", while a
distance says how much the distribution moved, in units that mean the same on every column.

- Numeric columns: the population stability index (PSI) over ten bins cut at the reference's
  deciles (an empty bin counts as `EPSILON`, so the logarithm stays finite), and the 1-D
  Wasserstein distance (the average distance values had to move) divided by the reference's
  interquartile range, so it is unit-free (when the IQR is 0: the standard deviation, else 1).
- Categorical columns: the Jensen-Shannon distance, base 2 (0: the same shares, 1: no category
  in common), over the category shares (the `OTHER_CATEGORY` bucket counts as one category).
  New categories (never in the reference) and vanished ones (in the reference, and expected
  at least `VANISHED_MIN_EXPECTED` times in this sync, yet absent) are reported by name,
  even under the distance threshold. A category folded under `OTHER_CATEGORY` on either side
  cannot be called new or vanished, so those are named only when no folding hides them.

The reference is the last `reference_syncs` syncs' profiles: numeric samples pooled, category
shares averaged sync by sync (each sync counts the same, whatever its size).

Thresholds (`DriftSettings`, defaults in `docs/quality.md`) are raised by a sampling
allowance, the distance two samples of one distribution exceed only once in 10,000 at these
sizes, so small syncs do not raise drift by chance. For n and m values compared on each side:
PSI and Jensen-Shannon divergence are then about chi-squared distributed (PSI ~ X (1/n + 1/m)
with X ~ chi2(bins - 1); JS divergence in bits ~ X (1/n + 1/m) / (8 ln 2) with X ~
chi2(categories - 1)), so the PSI limit is t + q (1/n + 1/m) and the JS distance limit
sqrt(t^2 + q (1/n + 1/m) / (8 ln 2)), q the chi-squared quantile; Wasserstein's limit is
t + 1/sqrt(n) + 1/sqrt(m) (its sampling distance shrinks as 1/sqrt(n), in IQR units about
0.6/sqrt(n) for normal data). A per-column threshold
(`column_thresholds`) replaces the PSI threshold of a numeric column (its Wasserstein
threshold scales by the same factor) or the Jensen-Shannon threshold of a categorical one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from integration_assets.quality.model import (
    OTHER_CATEGORY,
    ColumnKind,
    ColumnProfile,
    Finding,
    FindingKind,
    SyncProfile,
)
from integration_assets.quality.settings import DriftSettings

EPSILON = 1e-4
"""Smallest share a bin has in `psi` (guards the logarithm)."""
EMPTY_BIN = 0.5
"""Values an empty bin counts as in a sample's PSI shares."""
CHANCE_Z = 3.719
"""Sampling allowances are the distance two samples of one distribution exceed only one time
in 10,000 (the normal quantile of 0.9999): a sync hourly with a dozen columns then raises a
chance drift about once a month at most."""
BINS = 10
VANISHED_MIN_EXPECTED = 10.0
"""A reference category is called vanished only when this sync should have had at least
this many of it."""
NEW_MIN_SHARE = 0.01
"""A new category is reported when it holds at least this share of the sync."""


def psi(reference: Sequence[float], current: Sequence[float], epsilon: float = EPSILON) -> float:
    """Population stability index of two share vectors over the same bins:
    sum (c - r) ln(c / r), each share at least `epsilon`."""
    total = 0.0
    for r, c in zip(reference, current, strict=True):
        r, c = max(r, epsilon), max(c, epsilon)
        total += (c - r) * math.log(c / r)
    return total


def quantile_edges(reference: Sequence[float], bins: int = BINS) -> np.ndarray:
    """The inner bin edges: the reference's quantiles at 1/bins ... (bins-1)/bins, without
    repeats (a value shared by many rows makes one bin, not several empty ones)."""
    quantiles = np.quantile(np.asarray(reference, dtype=np.float64), np.arange(1, bins) / bins)
    return np.unique(quantiles)


def bin_shares(values: Sequence[float], edges: np.ndarray, empty: float = 0.0) -> np.ndarray:
    """Share of `values` in each bin: (-inf, e1), [e1, e2), ..., [ek, inf); an empty bin
    counts as `empty` values."""
    index = np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="right")
    counts = np.bincount(index, minlength=len(edges) + 1).astype(np.float64)
    return np.maximum(counts, empty) / max(len(values), 1)


def psi_of_samples(reference: Sequence[float], current: Sequence[float], bins: int = BINS) -> float:
    """PSI of two samples over the reference's quantile bins; an empty bin holds half a
    value (not `EPSILON`: in a sync of 50 rows a bin is empty by chance one time in twenty,
    and ln(EPSILON) would turn that into a large PSI)."""
    edges = quantile_edges(reference, bins)
    return psi(
        bin_shares(reference, edges, EMPTY_BIN).tolist(),
        bin_shares(current, edges, EMPTY_BIN).tolist(),
    )


def chi2_quantile(df: int, z: float = CHANCE_Z) -> float:
    """The chi-squared quantile with `df` degrees of freedom at normal quantile `z`
    (Wilson-Hilferty approximation, within a few percent from df = 1)."""
    df = max(df, 1)
    c = 2.0 / (9.0 * df)
    return df * (1.0 - c + z * math.sqrt(c)) ** 3


def wasserstein(u: Sequence[float], v: Sequence[float]) -> float:
    """The 1-D Wasserstein (earth mover's) distance of two samples: the area between their
    empirical distribution functions."""
    a = np.sort(np.asarray(u, dtype=np.float64))
    b = np.sort(np.asarray(v, dtype=np.float64))
    points = np.sort(np.concatenate((a, b)))
    widths = np.diff(points)
    cdf_a = np.searchsorted(a, points[:-1], side="right") / len(a)
    cdf_b = np.searchsorted(b, points[:-1], side="right") / len(b)
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def spread_unit(reference: Sequence[float]) -> float:
    """The reference's interquartile range; its standard deviation when that is 0; else 1."""
    values = np.asarray(reference, dtype=np.float64)
    q1, q3 = np.quantile(values, [0.25, 0.75])
    if q3 > q1:
        return float(q3 - q1)
    std = float(np.std(values))
    return std if std > 0 else 1.0


def js_distance(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Jensen-Shannon distance (base 2, 0..1) of two distributions over named categories
    (weights need not sum to 1: each side is normalised)."""
    keys = sorted(set(p) | set(q))
    a = np.array([p.get(k, 0.0) for k in keys], dtype=np.float64)
    b = np.array([q.get(k, 0.0) for k in keys], dtype=np.float64)
    if a.sum() <= 0 or b.sum() <= 0:
        return 0.0
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: np.ndarray) -> float:
        mask = x > 0
        return float(np.sum(x[mask] * np.log2(x[mask] / m[mask])))

    divergence = max(0.0, (kl(a) + kl(b)) / 2)
    return math.sqrt(divergence)


def shares(column: ColumnProfile) -> dict[str, float]:
    total = sum(column.categories.values())
    return {k: v / total for k, v in column.categories.items()} if total else {}


def _present(column: ColumnProfile) -> int:
    return column.count - column.nulls


def drift_findings(
    current: SyncProfile,
    references: Sequence[SyncProfile],
    settings: DriftSettings,
    *,
    min_reference: int = 1,
) -> list[Finding]:
    """Drift findings of `current` against the reference profiles (newest first or not:
    order does not matter); nothing with fewer than `min_reference` reference profiles."""
    references = list(references)[: settings.reference_syncs]
    if len(references) < max(1, min_reference):
        return []
    findings: list[Finding] = []
    for name, column in current.columns.items():
        if name in settings.exclude or _present(column) < settings.min_rows:
            continue
        past = [
            ref.columns[name]
            for ref in references
            if name in ref.columns and ref.columns[name].kind == column.kind
        ]
        if len(past) < max(1, min_reference) or sum(map(_present, past)) < settings.min_rows:
            continue
        if column.kind == ColumnKind.NUMERIC:
            finding = _numeric_drift(name, column, past, settings)
        elif column.kind == ColumnKind.CATEGORICAL:
            finding = _categorical_drift(name, column, past, settings)
        else:
            finding = None
        if finding is not None:
            findings.append(finding)
    return findings


def _numeric_drift(
    name: str, column: ColumnProfile, past: Sequence[ColumnProfile], settings: DriftSettings
) -> Finding | None:
    reference = [value for profile in past for value in profile.sample]
    sample = list(column.sample)
    if len(reference) < settings.min_rows or len(sample) < settings.min_rows:
        return None
    n, m = len(sample), len(reference)
    psi_threshold = settings.column_thresholds.get(name, settings.psi_threshold)
    w_threshold = settings.wasserstein_threshold * psi_threshold / settings.psi_threshold
    edges = quantile_edges(reference)
    bins = len(edges) + 1
    psi_value = psi(
        bin_shares(reference, edges, EMPTY_BIN).tolist(),
        bin_shares(sample, edges, EMPTY_BIN).tolist(),
    )
    psi_limit = psi_threshold + chi2_quantile(bins - 1) * (1 / n + 1 / m)
    w_value = wasserstein(reference, sample) / spread_unit(reference)
    w_limit = w_threshold + 1 / math.sqrt(n) + 1 / math.sqrt(m)
    psi_score, w_score = psi_value / psi_limit, w_value / w_limit
    if max(psi_score, w_score) <= 1.0:
        return None
    before, after = float(np.median(reference)), float(np.median(sample))
    message = (
        f"{name}: distribution shifted (PSI {psi_value:.2f}, limit {psi_limit:.2f}; "
        f"Wasserstein {w_value:.2f} IQR, limit {w_limit:.2f}); median {before:,.4g} → {after:,.4g}"
    )
    if psi_score >= w_score:
        return Finding(FindingKind.DRIFT, "psi", psi_value, psi_limit, psi_score, name, message)
    return Finding(FindingKind.DRIFT, "wasserstein", w_value, w_limit, w_score, name, message)


def _categorical_drift(
    name: str, column: ColumnProfile, past: Sequence[ColumnProfile], settings: DriftSettings
) -> Finding | None:
    reference: dict[str, float] = {}
    for profile in past:
        for category, share in shares(profile).items():
            reference[category] = reference.get(category, 0.0) + share / len(past)
    current = shares(column)
    n, m = _present(column), sum(map(_present, past))
    threshold = settings.column_thresholds.get(name, settings.js_threshold)
    k = len(set(reference) | set(current))
    allowance = chi2_quantile(k - 1) * (1 / n + 1 / m) / (8 * math.log(2))
    limit = math.sqrt(threshold**2 + allowance)
    distance = js_distance(reference, current)
    ref_folded = reference.get(OTHER_CATEGORY, 0.0) > 0
    cur_folded = current.get(OTHER_CATEGORY, 0.0) > 0
    new = sorted(
        c
        for c, share in current.items()
        if c != OTHER_CATEGORY and c not in reference and share >= NEW_MIN_SHARE and not ref_folded
    )
    vanished = sorted(
        c
        for c, share in reference.items()
        if c != OTHER_CATEGORY
        and c not in current
        and share * n >= VANISHED_MIN_EXPECTED
        and not cur_folded
    )
    if distance <= limit and not new and not vanished:
        return None
    moved = sorted(
        (c for c in set(reference) | set(current) if c != OTHER_CATEGORY),
        key=lambda c: -abs(current.get(c, 0.0) - reference.get(c, 0.0)),
    )[:3]
    parts = [f"{name}: categories changed (Jensen-Shannon {distance:.2f}, limit {limit:.2f})"]
    parts += [
        f"'{c}' {reference.get(c, 0.0):.0%} → {current.get(c, 0.0):.0%}"
        for c in moved
        if abs(current.get(c, 0.0) - reference.get(c, 0.0)) >= 0.01
    ]
    if new:
        parts.append("new: " + ", ".join(f"'{c}'" for c in new))
    if vanished:
        parts.append("vanished: " + ", ".join(f"'{c}'" for c in vanished))
    return Finding(
        FindingKind.DRIFT, "js", distance, limit, distance / limit, name, "; ".join(parts)
    )
