"""The issue's acceptance stories, at the level of `assess_sync`: a normal week of hourly
syncs raises nothing; a volume drop, a shifted category, new and vanished categories are
found and named; nothing is reported before the minimum history; and the warehouse table
gives a volume baseline from the very first sync."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from integration_assets.load.tables import ensure_tables
from integration_assets.load.upsert import upsert_batch
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.assess import assess_sync
from integration_assets.quality.model import Assessment, FindingKind
from integration_assets.quality.settings import QualitySettings
from integration_assets.quality.store import latest_findings, recent_metrics
from integration_assets.schema import MappedBatch
from integration_assets_tests.quality.week import (
    ORDERS,
    START,
    STATUSES,
    Week,
    clean_report,
    hourly_mean,
    profile_of,
)

HOURS = 7 * 24
SETTINGS = QualitySettings()


def _sync(
    warehouse: Warehouse,
    rows: list[dict[str, Any]],
    at: datetime,
    run_id: str,
    minutes: float | None = 60,
) -> Assessment:
    return assess_sync(
        warehouse,
        vendor="shopify",
        connection="shop",
        entity="orders",
        run_id=run_id,
        table=ORDERS,
        report=clean_report(len(rows)),
        profile=profile_of(rows),
        settings=SETTINGS,
        minutes_since_previous_sync=minutes,
        allowed_minutes=120,
        now=at,
    )


@dataclass(frozen=True)
class NormalWeek:
    database: Path
    assessments: list[Assessment]


@pytest.fixture(scope="module")
def normal_week(tmp_path_factory: pytest.TempPathFactory) -> NormalWeek:
    """Seven days of hourly syncs with the usual daily curve and noise, on SQLite."""
    database = tmp_path_factory.mktemp("week") / "warehouse.db"
    warehouse = Warehouse.from_url(f"sqlite:///{database}")
    week = Week(seed=11)
    assessments = []
    for hour in range(1, HOURS + 1):
        at = START + timedelta(hours=hour)
        assessments.append(_sync(warehouse, week.rows(at, week.count(at)), at, f"run-{hour}"))
    warehouse.dispose()
    return NormalWeek(database, assessments)


def _after_the_week(normal_week: NormalWeek, tmp_path: Path) -> Warehouse:
    """A copy of the week's warehouse, for a story that adds one more sync."""
    for file in normal_week.database.parent.glob(normal_week.database.name + "*"):
        shutil.copy(file, tmp_path / file.name)
    return Warehouse.from_url(f"sqlite:///{tmp_path / normal_week.database.name}")


NEXT = START + timedelta(hours=HOURS + 15)  # 15:00 on the eighth day, a busy hour


def test_a_normal_week_raises_no_finding(normal_week: NormalWeek) -> None:
    assert [f.message for a in normal_week.assessments for f in a.findings] == []
    assert len(normal_week.assessments) == HOURS
    assert normal_week.assessments[-1].volume_history == HOURS - 1
    assert all(a.scores.overall == 100.0 for a in normal_week.assessments)


def test_a_volume_drop_to_a_tenth_is_a_volume_anomaly(
    normal_week: NormalWeek, tmp_path: Path
) -> None:
    warehouse = _after_the_week(normal_week, tmp_path)
    week = Week(seed=12, next_id=10**6)
    rows = week.rows(NEXT, round(hourly_mean(NEXT) / 10))
    assessment = _sync(warehouse, rows, NEXT, "run-drop")
    [finding] = [f for f in assessment.findings if f.kind == FindingKind.VOLUME_ANOMALY]
    assert finding.value == len(rows)
    assert finding.expected == pytest.approx(hourly_mean(NEXT), rel=0.25)
    assert "volume drop" in finding.message and "at this hour of day" in finding.message
    [stored] = latest_findings(warehouse, connection="shop", entity="orders")
    assert stored.run_id == "run-drop" and stored.finding == finding


def test_a_category_moving_from_10_to_60_percent_is_drift_on_that_column_only(
    normal_week: NormalWeek, tmp_path: Path
) -> None:
    warehouse = _after_the_week(normal_week, tmp_path)
    week = Week(seed=13, next_id=10**6)
    shares = (0.6 * 0.4 / 0.9, 0.2 * 0.4 / 0.9, 0.6, 0.1 * 0.4 / 0.9)  # refunded: 10% -> 60%
    rows = week.rows(NEXT, round(hourly_mean(NEXT)), shares=shares)
    assessment = _sync(warehouse, rows, NEXT, "run-shift")
    assert [(f.kind, f.column) for f in assessment.findings] == [(FindingKind.DRIFT, "status")]
    # the sync's rows are drawn at random: about 10% before, about 60% now
    assert re.search(r"'refunded' (9|1[01])% → (5[5-9]|6[0-5])%", assessment.findings[0].message)


def test_new_and_vanished_categories_are_named(normal_week: NormalWeek, tmp_path: Path) -> None:
    warehouse = _after_the_week(normal_week, tmp_path)
    week = Week(seed=14, next_id=10**6)
    statuses = ("paid", "pending", "refunded", "chargeback")  # voided is gone
    rows = week.rows(NEXT, round(hourly_mean(NEXT)), statuses=statuses)
    assessment = _sync(warehouse, rows, NEXT, "run-new")
    [finding] = [f for f in assessment.findings if f.kind == FindingKind.DRIFT]
    assert finding.column == "status"
    assert "new: 'chargeback'" in finding.message
    assert "vanished: 'voided'" in finding.message


def test_no_finding_before_min_history(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    week = Week(seed=15)
    day = timedelta(days=1)

    def daily(index: int, count: int, statuses: tuple[str, ...] = STATUSES) -> Assessment:
        at = START + day * index
        rows = week.rows(at, count, shares=[1.0] * len(statuses), statuses=statuses)
        return _sync(warehouse, rows, at, f"run-{index}", minutes=1440)

    for index in range(1, 7):  # six steady daily syncs
        assert daily(index, 200 + index).findings == ()
    # the seventh collapses and changes its categories, but six syncs are not yet a history
    assert daily(7, 2, statuses=("paid", "chargeback")).findings == ()
    assert len(recent_metrics(warehouse, "shop", "orders", 10)) == 7
    # with seven earlier syncs the same collapse is an anomaly
    assert daily(8, 205).findings == ()
    collapsed = daily(9, 2)
    assert [f.kind for f in collapsed.findings] == [FindingKind.VOLUME_ANOMALY]


def test_the_table_backfill_gives_a_baseline_on_the_first_sync(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    ensure_tables(warehouse, [ORDERS])
    week = Week(seed=16)
    rows = []
    first = START + timedelta(days=14, hours=15)
    for hour in range(1, 14 * 24 + 15):  # two weeks of changes already in the table
        at = START + timedelta(hours=hour)
        rows += week.rows(at, int(week.rng.poisson(hourly_mean(at) / 6)))
    batch = MappedBatch({"orders": rows})
    upsert_batch(warehouse, [ORDERS], batch, connection="shop", entity="orders", run_id="initial")

    usual = week.rows(first, round(hourly_mean(first) / 6))
    assessment = _sync(warehouse, usual, first, "run-first")
    assert assessment.volume_history >= 14 * 24 - 1
    assert assessment.findings == ()

    dropped = week.rows(first + timedelta(hours=1), round(hourly_mean(first) / 60))
    assessment = _sync(warehouse, dropped, first + timedelta(hours=1), "run-second")
    assert [f.kind for f in assessment.findings] == [FindingKind.VOLUME_ANOMALY]
    assert "at this" in assessment.findings[0].message
