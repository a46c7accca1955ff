"""Anomalies: a sync's volume, null rates and distinct counts against their own history.

The baseline is robust, so that one bad sync in the history does not hide the next: the
expected value is the median of the history, the spread its median absolute deviation
(MAD), and a value's robust z-score is |x - median| / (1.4826 MAD) (1.4826 makes the MAD
estimate the standard deviation of normal data). A value whose z-score exceeds the
entity's `AnomalySettings.sensitivity` (default 3) is an anomaly.

- MAD = 0 (more than half the history is one value): the spread falls back to 1.2533 times
  the mean absolute deviation from the median (the same scaling for normal data), and never
  goes below a floor per metric (`Floors`): a change too small to matter, or one that
  sampling alone explains (a null rate measured on 40 rows moves by sqrt(p(1-p)/40)), is
  never an anomaly.
- Nothing is reported before `min_history` earlier values exist, nor, for values measured
  more often than daily, before the history covers a day (the first morning after a night
  of syncs is the day's rhythm, not an anomaly).
- Seasonality (volume): once `seasonal_min_history` values exist, a value is compared with the
  values of the same slot: the same weekday and hour when the history has at least
  `SEASONAL_MIN_PEERS` of those, else the same hour of day (syncs more often than daily), or
  the same weekday (daily syncs). The expected value is the median of those peers; the spread
  is measured on the whole history's deviations from their own slot's median (each value
  left out of its own slot), so a handful of peers gives a location but not a fragile scale.
  Null rates and distinct counts are compared with the whole history: they rarely follow
  the clock, and a slot's median over a few small syncs is noisier than any rhythm they
  might have.
- Volume is records changed per hour since the previous sync, so that syncs of irregular
  cadences (a delayed run, a manual run) compare, taken on a log scale, ln(1 + x): volume
  varies by multiplication (a busy hour is twice a quiet one), and on that scale halving and
  doubling are equally far and the noise of busy and quiet hours is alike. When an entity has fewer than
  `min_history` stored syncs, `volume_history_from_table` backfills a history from the
  warehouse table itself: rows per period by their `_source_updated_at`. It sees each row
  once, at its latest update, so older periods are somewhat undercounted (records updated
  again since moved to a later period); the baseline it gives is rough but immediate.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, cast, func, inspect, select

from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.model import Finding, FindingKind
from integration_assets.quality.settings import AnomalySettings
from integration_assets.schema import CONNECTION_COLUMN, SOURCE_UPDATED_AT_COLUMN, TableSchema

MAD_TO_SIGMA = 1.4826
MEAN_AD_TO_SIGMA = 1.2533
SEASONAL_MIN_PEERS = 3
"""Values of the same slot needed before the slot's median is the expected value."""
BACKFILL_WEEKS = 4
"""How far back `volume_history_from_table` counts rows by default."""


@dataclass(frozen=True)
class Point:
    """One value of a metric's history, at the time it was measured (a sync's time, or the
    end of a backfilled period)."""

    at: datetime
    value: float


@dataclass(frozen=True)
class Baseline:
    """What a value is compared with: the expected value and the spread around it."""

    expected: float
    scale: float
    history: int
    seasonal: str | None = None
    """`hour of day`, `weekday and hour` or `weekday` when the baseline is seasonal."""

    def z(self, value: float) -> float:
        return abs(value - self.expected) / self.scale


def robust_scale(values: Sequence[float]) -> float:
    """The spread of `values`: 1.4826 MAD, else 1.2533 mean absolute deviation, else 0."""
    if not values:
        return 0.0
    median = statistics.median(values)
    deviations = [abs(v - median) for v in values]
    mad = statistics.median(deviations)
    if mad > 0:
        return MAD_TO_SIGMA * mad
    return MEAN_AD_TO_SIGMA * (sum(deviations) / len(deviations))


SlotKey = Callable[[datetime], Hashable]
_SLOTS: dict[str, SlotKey] = {
    "weekday and hour": lambda at: (at.astimezone(UTC).weekday(), at.astimezone(UTC).hour),
    "hour of day": lambda at: at.astimezone(UTC).hour,
    "weekday": lambda at: at.astimezone(UTC).weekday(),
}


def _spacing(history: Sequence[Point]) -> float:
    """The median seconds between consecutive values."""
    times = sorted(point.at for point in history)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    return statistics.median(gaps) if gaps else 0.0


def _slot_candidates(history: Sequence[Point]) -> list[str]:
    """The slots that fit the history's spacing, finest first."""
    spacing = _spacing(history)
    if spacing < 6 * 3600:
        return ["weekday and hour", "hour of day"]
    if spacing < 4 * 86400:
        return ["weekday"]
    return []


def baseline(
    history: Sequence[Point],
    at: datetime,
    settings: AnomalySettings,
    floor: float,
    *,
    seasonal: bool = True,
) -> Baseline | None:
    """The baseline for a value measured `at`; None before `min_history` values exist (or,
    for sub-daily values, before they cover a day). `floor` is the smallest spread allowed
    (see `Floors`; `detect` computes it from a first estimate of the expected value)."""
    if len(history) < max(1, settings.min_history):
        return None
    times = [point.at for point in history]
    if _spacing(history) < 86400 and (at - min(times)) < timedelta(days=1):
        return None  # a day's own rhythm (busy afternoons, quiet nights) is no anomaly
    if seasonal and len(history) >= settings.seasonal_min_history:
        for name in _slot_candidates(history):
            slot = _seasonal_baseline(history, at, _SLOTS[name], floor, settings)
            if slot is not None:
                return Baseline(slot[0], slot[1], len(history), name)
    values = [point.value for point in history]
    return Baseline(statistics.median(values), max(robust_scale(values), floor), len(history))


def _seasonal_baseline(
    history: Sequence[Point], at: datetime, key: SlotKey, floor: float, settings: AnomalySettings
) -> tuple[float, float] | None:
    slots: dict[Hashable, list[float]] = defaultdict(list)
    for point in history:
        slots[key(point.at)].append(point.value)
    peers = slots.get(key(at), [])
    if len(peers) < SEASONAL_MIN_PEERS:
        return None
    residuals: list[float] = []
    for values in slots.values():
        if len(values) < SEASONAL_MIN_PEERS:
            continue
        for index, value in enumerate(values):
            others = values[:index] + values[index + 1 :]
            residuals.append(value - statistics.median(others))
    if len(residuals) < settings.min_history:
        return None
    return statistics.median(peers), max(robust_scale(residuals), floor)


class Floors:
    """The smallest spread of each metric: changes below about `sensitivity` times it are
    never anomalies, however steady the history."""

    @staticmethod
    def volume(expected: float) -> float:
        """Volume is compared as ln(1 + records/hour): 0.05 (5%), and the counting noise of
        the expected records, 1/sqrt(1 + expected) (so a night of 0 then 3 records is no
        anomaly, a night of 0 then 30 is)."""
        return max(0.05, 1.0 / math.sqrt(1.0 + math.expm1(max(expected, 0.0))))

    @staticmethod
    def null_rate(expected: float, rows: int) -> float:
        """A rate: one percentage point, or 1.5 times the binomial noise of `rows` rows (the
        binomial's tail is long on small syncs, and a sync checks every column)."""
        p = min(max(expected, 1.0 / max(rows, 1)), 1.0)
        return max(0.01, 1.5 * math.sqrt(p * (1 - p) / max(rows, 1)))

    @staticmethod
    def distinct(expected: float) -> float:
        """A count of categories: one category, or 5% of them."""
        return max(1.0, 0.05 * abs(expected))

    @staticmethod
    def distinct_ratio(expected: float) -> float:
        """Distinct values per non-null value (keys, free text): five percentage points."""
        return max(0.05, 0.05 * abs(expected))


def _floored(
    history: Sequence[Point],
    at: datetime,
    settings: AnomalySettings,
    floor_of: Callable[[float], float],
    seasonal: bool,
) -> Baseline | None:
    """A baseline whose floor depends on the expected value (the floor only bounds the
    spread, so the expected value is found first)."""
    found = baseline(history, at, settings, 0.0, seasonal=seasonal)
    if found is None:
        return None
    return replace(found, scale=max(found.scale, floor_of(found.expected), 1e-12))


def detect(
    *,
    kind: FindingKind,
    metric: str,
    value: float,
    at: datetime,
    history: Sequence[Point],
    settings: AnomalySettings,
    floor_of: Callable[[float], float],
    describe: Callable[[float, Baseline, float], str],
    column: str | None = None,
    seasonal: bool = True,
) -> Finding | None:
    """A finding when `value` lies more than `sensitivity` robust z-scores from its baseline."""
    found = _floored(history, at, settings, floor_of, seasonal)
    if found is None:
        return None
    z = found.z(value)
    if z <= settings.sensitivity:
        return None
    return Finding(
        kind=kind,
        metric=metric,
        value=value,
        expected=found.expected,
        score=z,
        column=column,
        message=describe(value, found, z),
    )


def _context(found: Baseline, z: float) -> str:
    where = f"at this {found.seasonal}" if found.seasonal else "over the history"
    return f"({where}, {found.history} earlier values; robust z {z:.1f})"


def volume_finding(
    value: float, at: datetime, history: Sequence[Point], settings: AnomalySettings
) -> Finding | None:
    """Records changed per hour since the previous sync against their history."""

    def describe(x: float, found: Baseline, z: float) -> str:
        usual = math.expm1(found.expected)
        direction = "drop" if x < usual else "spike"
        return (
            f"volume {direction}: {x:,.1f} records/hour where ~{usual:,.1f} is usual "
            + _context(found, z)
        )

    logged = [Point(p.at, math.log1p(max(p.value, 0.0))) for p in history]
    finding = detect(
        kind=FindingKind.VOLUME_ANOMALY,
        metric="rows",
        value=math.log1p(max(value, 0.0)),
        at=at,
        history=logged,
        settings=settings,
        floor_of=Floors.volume,
        describe=lambda _, found, z: describe(value, found, z),
    )
    if finding is None or finding.expected is None:
        return finding
    return replace(finding, value=value, expected=math.expm1(finding.expected))


def null_rate_finding(
    column: str,
    value: float,
    rows: int,
    at: datetime,
    history: Sequence[Point],
    settings: AnomalySettings,
) -> Finding | None:
    """A column's share of nulls against its history (`rows`: the sync's rows of it)."""

    def describe(x: float, found: Baseline, z: float) -> str:
        return f"{column}: {x:.1%} nulls where ~{found.expected:.1%} is usual " + _context(found, z)

    return detect(
        kind=FindingKind.NULL_RATE_ANOMALY,
        metric="null_rate",
        value=value,
        at=at,
        history=history,
        settings=settings,
        floor_of=lambda expected: Floors.null_rate(expected, rows),
        describe=describe,
        column=column,
        seasonal=False,
    )


def distinct_finding(
    column: str,
    value: float,
    at: datetime,
    history: Sequence[Point],
    settings: AnomalySettings,
    *,
    ratio: bool,
) -> Finding | None:
    """A column's distinct count (categories) or distinct share (keys, free text)."""

    def describe(x: float, found: Baseline, z: float) -> str:
        if ratio:
            what = f"{x:.1%} of values distinct where ~{found.expected:.1%} is usual"
        else:
            what = f"{x:,.0f} distinct values where ~{found.expected:,.0f} is usual"
        return f"{column}: {what} " + _context(found, z)

    return detect(
        kind=FindingKind.DISTINCT_ANOMALY,
        metric="distinct_ratio" if ratio else "distinct",
        value=value,
        at=at,
        history=history,
        settings=settings,
        floor_of=Floors.distinct_ratio if ratio else Floors.distinct,
        describe=describe,
        column=column,
        seasonal=False,
    )


def per_hour(records: int, minutes: float | None) -> float | None:
    """Records per hour over `minutes` (at least one minute); None when unknown."""
    if minutes is None:
        return None
    return records / (max(minutes, 1.0) / 60.0)


def volume_history_from_table(
    warehouse: Warehouse,
    table: TableSchema,
    connection: str,
    period: timedelta = timedelta(hours=1),
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Point]:
    """A volume history from the warehouse table's own rows, for one connection.

    Counts the connection's rows per `period` by `_source_updated_at` from `since` (default
    `BACKFILL_WEEKS` weeks ago) to `until` (default now), whole periods only, from the first
    period with a row on (before it the connection had no data yet, which says nothing about
    its usual volume), periods without rows counted as 0. Each point is at its period's end (as a sync at that time would have
    seen it) with the rows per hour. Empty when the table is missing or has no row of the
    connection in that time (then it says nothing about the usual volume).
    """
    seconds = int(period.total_seconds())
    if seconds <= 0:
        raise ValueError("period must be positive")
    until = until or datetime.now(UTC)
    since = since or until - timedelta(weeks=BACKFILL_WEEKS)
    first = math.ceil(since.timestamp() / seconds)  # first whole period
    last = math.floor(until.timestamp() / seconds)  # periods end before `until`
    if last <= first:
        return []
    warehouse_table = build_table(table, warehouse.schema)
    column = warehouse_table.c[SOURCE_UPDATED_AT_COLUMN]
    if warehouse.dialect == "postgresql":
        bucket = cast(func.floor(func.extract("epoch", column) / seconds), Integer)
    else:
        epoch = cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
        bucket = cast(epoch / seconds, Integer)
    start = datetime.fromtimestamp(first * seconds, UTC)
    end = datetime.fromtimestamp(last * seconds, UTC)
    query = (
        select(bucket.label("bucket"), func.count().label("rows"))
        .where(warehouse_table.c[CONNECTION_COLUMN] == connection)
        .where(column >= start)
        .where(column < end)
        .group_by(bucket)
    )
    with warehouse.read() as conn:
        if not inspect(conn).has_table(warehouse_table.name, schema=warehouse_table.schema):
            return []
        counts = {int(b): int(n) for b, n in conn.execute(query)}
    if not counts:
        return []
    hours = seconds / 3600.0
    return [
        Point(datetime.fromtimestamp((index + 1) * seconds, UTC), counts.get(index, 0) / hours)
        for index in range(min(counts), last)
    ]
