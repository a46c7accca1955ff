"""Anomalies: the robust baseline, its floors, the minimum history, seasonality, and the
volume history backfilled from the warehouse table."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from integration_assets.load.tables import ensure_tables
from integration_assets.load.upsert import upsert_batch
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.anomaly import (
    Point,
    baseline,
    distinct_finding,
    null_rate_finding,
    per_hour,
    robust_scale,
    volume_finding,
    volume_history_from_table,
)
from integration_assets.quality.model import FindingKind
from integration_assets.quality.settings import AnomalySettings
from integration_assets.schema import MappedBatch
from integration_assets_tests.quality.week import ORDERS, START, Week, hourly_mean

SETTINGS = AnomalySettings()


def _hourly(values: list[float]) -> list[Point]:
    return [Point(START + timedelta(hours=i), v) for i, v in enumerate(values)]


def test_robust_scale_is_the_scaled_mad_and_falls_back_when_it_is_zero() -> None:
    # median 3, deviations 2 1 0 1 2 -> MAD 1
    assert robust_scale([1, 2, 3, 4, 5]) == pytest.approx(1.4826)
    # most values equal: MAD 0, mean absolute deviation 6/5 = 1.2
    assert robust_scale([3, 3, 3, 3, 9]) == pytest.approx(1.2533 * 1.2)
    assert robust_scale([3, 3, 3]) == 0.0


def test_a_constant_history_still_has_a_spread_the_floor() -> None:
    history = _hourly([100.0] * 30)
    found = baseline(history, START + timedelta(hours=30), SETTINGS, floor=5.0)
    assert found is not None
    assert (found.expected, found.scale) == (100.0, 5.0)
    assert found.z(100.0) == 0.0 and found.z(120.0) == 4.0


def test_nothing_is_reported_before_min_history() -> None:
    daily = [Point(START + timedelta(days=i), 1000.0 + 10 * (i % 3)) for i in range(6)]
    at = START + timedelta(days=6)
    assert volume_finding(5.0, at, daily, SETTINGS) is None
    seventh = [*daily, Point(START + timedelta(days=6), 1010.0)]
    finding = volume_finding(5.0, at + timedelta(days=1), seventh, SETTINGS)
    assert finding is not None and finding.kind == FindingKind.VOLUME_ANOMALY
    assert finding.expected == pytest.approx(1010.0)
    assert "volume drop: 5.0 records/hour where ~1,010.0 is usual" in finding.message


def test_hourly_values_wait_for_a_day_of_history() -> None:
    history = _hourly([100.0 + i % 3 for i in range(12)])
    assert volume_finding(2.0, START + timedelta(hours=12), history, SETTINGS) is None


def test_daily_seasonality_compares_the_same_hour_of_day() -> None:
    rng = np.random.default_rng(1)
    values = [hourly_mean(START + timedelta(hours=i)) * rng.lognormal(0, 0.05) for i in range(168)]
    history = _hourly(values)
    night = START + timedelta(days=7, hours=3)  # 03:00, usually ~0.4 of the afternoon peak
    peak = max(values)
    finding = volume_finding(peak, night, history, SETTINGS)
    assert finding is not None
    assert "spike" in finding.message and "at this hour of day" in finding.message
    # without seasonality, the peak value is within the spread of the whole day
    flat = AnomalySettings(seasonal_min_history=10_000)
    assert volume_finding(peak, night, history, flat) is None
    # and a usual night value is no anomaly
    assert volume_finding(hourly_mean(night), night, history, SETTINGS) is None


def test_null_rate_floor_follows_the_sync_size() -> None:
    history = _hourly([0.05] * 40)
    at = START + timedelta(hours=40)
    # 8 nulls in 60 rows where 5% is usual: within the binomial noise of 60 rows
    assert null_rate_finding("email", 8 / 60, 60, at, history, SETTINGS) is None
    # the same share in 6,000 rows is not chance
    finding = null_rate_finding("email", 8 / 60, 6000, at, history, SETTINGS)
    assert finding is not None and finding.column == "email"
    assert "email: 13.3% nulls where ~5.0% is usual" in finding.message


def test_volume_history_from_the_table_counts_rows_per_hour(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    ensure_tables(warehouse, [ORDERS])
    week = Week(seed=3)
    rows = []
    for hour in range(48):
        at = START + timedelta(hours=hour + 1)
        rows += week.rows(at, 5 if hour % 2 else 2)  # updated_at within the hour before `at`
    upsert_batch(
        warehouse,
        [ORDERS],
        MappedBatch({"orders": rows}),
        connection="shop",
        entity="orders",
        run_id="r1",
    )
    other = week.rows(START + timedelta(hours=10), 50)
    upsert_batch(
        warehouse,
        [ORDERS],
        MappedBatch({"orders": other}),
        connection="other",
        entity="orders",
        run_id="r2",
    )

    points = volume_history_from_table(
        warehouse,
        ORDERS,
        "shop",
        since=START - timedelta(hours=2),
        until=START + timedelta(hours=50),
    )
    # whole hours from the first with a row to `until`, empty ones included
    assert len(points) == 50
    assert [p.value for p in points[:4]] == [2.0, 5.0, 2.0, 5.0]
    assert points[-2:] == [
        Point(START + timedelta(hours=49), 0.0),  # a period is labelled by its end
        Point(START + timedelta(hours=50), 0.0),
    ]
    assert sum(p.value for p in points) == len(rows)

    half_hours = volume_history_from_table(
        warehouse,
        ORDERS,
        "shop",
        period=timedelta(minutes=30),
        since=START,
        until=START + timedelta(hours=48),
    )
    assert sum(p.value for p in half_hours) * 0.5 == len(rows)  # rows per hour, in half hours
    assert volume_history_from_table(warehouse, ORDERS, "nobody", since=START) == []


def test_volume_history_of_a_missing_table_is_empty(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    assert volume_history_from_table(warehouse, ORDERS, "shop", since=START) == []
    assert volume_history_from_table(warehouse, ORDERS, "shop") == []  # default: 4 weeks


def test_daily_syncs_compare_the_same_weekday() -> None:
    # five weeks of daily syncs: weekdays ~1000 records, weekends ~300
    rng = np.random.default_rng(2)
    history = [
        Point(
            START + timedelta(days=d),
            (300.0 if (START + timedelta(days=d)).weekday() >= 5 else 1000.0)
            * rng.lognormal(0, 0.05),
        )
        for d in range(35)
    ]
    saturday, monday = START + timedelta(days=40), START + timedelta(days=42)
    assert saturday.weekday() == 5 and monday.weekday() == 0
    assert volume_finding(300.0 / 24, saturday, history_per_hour(history), SETTINGS) is None
    finding = volume_finding(300.0 / 24, monday, history_per_hour(history), SETTINGS)
    assert finding is not None and "at this weekday" in finding.message


def history_per_hour(points: list[Point]) -> list[Point]:
    return [Point(p.at, p.value / 24) for p in points]


def test_a_late_sync_with_twice_the_changes_is_not_a_volume_anomaly() -> None:
    history = _hourly([100.0 + (i % 5) for i in range(48)])
    at = START + timedelta(hours=50)
    late = per_hour(204, minutes=120)  # two hours of changes, synced an hour late
    assert late == pytest.approx(102.0)
    assert volume_finding(late, at, history, SETTINGS) is None
    assert volume_finding(204.0, at, history, SETTINGS) is not None  # per sync, it would be


def test_duplicated_keys_lower_the_distinct_share() -> None:
    history = _hourly([1.0] * 40)
    at = START + timedelta(hours=40)
    assert distinct_finding("id", 0.99, at, history, SETTINGS, ratio=True) is None
    finding = distinct_finding("id", 0.5, at, history, SETTINGS, ratio=True)
    assert finding is not None and finding.kind == FindingKind.DISTINCT_ANOMALY
    assert finding.message.startswith("id: 50.0% of values distinct where ~100.0% is usual")
