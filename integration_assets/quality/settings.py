"""An entity's quality settings, as its mapping file (and a connection's override) set them.

The mapping stage parses the `quality` blocks of a mapping file into these values
(`CompiledMapping.quality`); the gate, the detectors and the checks read only these. The
defaults are documented in `docs/quality.md`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from integration_assets.quality.model import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class AnomalySettings:
    """Robust baselines for volume, null rate and distinct count (median and MAD)."""

    sensitivity: float = 3.0
    """Robust z-score (|x - median| / (1.4826 MAD)) above which a value is an anomaly."""
    min_history: int = 7
    """Earlier syncs (or backfilled periods) needed before anything is reported."""
    seasonal_min_history: int = 28
    """Periods needed before the baseline compares like with like (same hour of day, same day
    of week) instead of every past period."""


@dataclass(frozen=True)
class DriftSettings:
    """Distances between a sync's column distributions and a reference window."""

    psi_threshold: float = 0.2
    """Population stability index of numeric columns (0.1 moderate, 0.2 significant)."""
    wasserstein_threshold: float = 0.5
    """Wasserstein distance of numeric columns, in units of the reference's interquartile
    range (so it does not depend on the column's unit)."""
    js_threshold: float = 0.1
    """Jensen-Shannon distance (base 2, 0-1) of categorical columns."""
    reference_syncs: int = 20
    """How many earlier syncs make up the reference window."""
    min_rows: int = 50
    """A sync or reference with fewer rows in a column is not compared."""
    column_thresholds: dict[str, float] = field(default_factory=dict)
    """Per-column threshold, overriding the metric's default for that column."""
    exclude: tuple[str, ...] = ()
    """Columns never compared (ids, free text)."""


@dataclass(frozen=True)
class QualitySettings:
    """Everything an entity's mapping says about its quality, beyond its per-field rules."""

    threshold: float = DEFAULT_THRESHOLD
    """Pass rate under which a sync publishes nothing and fails its blocking check."""
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)
    drift: DriftSettings = field(default_factory=DriftSettings)
    score_drop_alert: float = 10.0
    """Alert when the overall score falls by more than this many points against the median of
    the recent syncs."""
