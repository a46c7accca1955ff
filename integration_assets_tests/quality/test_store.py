"""The quality history: one sync's row with its profile, the rollups of its connection and
integration, its findings, and the readers the console and the detectors use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.metrics import SCOPE_CONNECTION, SCOPE_INTEGRATION, SCOPE_SYNC
from integration_assets.quality.model import (
    Assessment,
    Dimension,
    FailureCount,
    Finding,
    FindingKind,
    ValidationReport,
)
from integration_assets.quality.scores import compute_scores
from integration_assets.quality.store import (
    ROLLUP_WINDOW,
    STORED_SAMPLE,
    latest_findings,
    metric_summaries,
    recent_metrics,
    reference_profiles,
    save_assessment,
    score_history,
    stored_sample,
    summary_of,
)
from integration_assets_tests.quality.week import START, Week, profile_of


def _assessment(
    connection: str, entity: str, run_id: str, records: int, failed: int, week: Week
) -> Assessment:
    report = ValidationReport(
        records=records,
        passed=records - failed,
        evaluated={Dimension.COMPLETENESS: records},
        failed={Dimension.COMPLETENESS: failed},
        failures=(FailureCount("required", Dimension.COMPLETENESS, failed, "email", ("41",)),),
    )
    finding = Finding(FindingKind.DRIFT, "js", 0.4, 0.12, 3.3, "status", "status: moved")
    return Assessment(
        connection=connection,
        vendor="shopify",
        entity=entity,
        run_id=run_id,
        report=report,
        profile=profile_of(week.rows(START, records)),
        scores=compute_scores(report),
        findings=(finding,) if failed else (),
    )


def test_a_sync_is_stored_with_its_profile_and_rolled_up(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    week = Week(seed=1)
    orders = _assessment("shop-a", "orders", "run-1", 100, 10, week)
    save_assessment(
        warehouse, orders, measured_at=START, summary=summary_of(orders.profile, 100.0, 60)
    )
    customers = _assessment("shop-a", "customers", "run-2", 300, 0, week)
    save_assessment(warehouse, customers, measured_at=START + timedelta(minutes=1))
    other_shop = _assessment("shop-b", "orders", "run-3", 100, 50, week)
    save_assessment(warehouse, other_shop, measured_at=START + timedelta(minutes=2))

    [stored] = recent_metrics(warehouse, "shop-a", "orders", 5)
    assert (stored.scope, stored.records, stored.passed, stored.gate_passed) == (
        SCOPE_SYNC,
        100,
        90,
        False,
    )
    assert stored.scores["completeness"] == pytest.approx(90.0)
    assert stored.details is not None
    assert stored.details["failures"][0] == {
        "check": "required",
        "dimension": "completeness",
        "count": 10,
        "column": "email",
        "example_ids": ["41"],
    }
    assert stored.details["summary"]["per_hour"] == 100.0
    assert reference_profiles(warehouse, "shop-a", "orders") == [orders.profile]

    # the connection rollup: the latest sync of each of shop-a's entities, record-weighted
    [first, second] = score_history(warehouse, "shopify", connection="shop-a")
    assert first.scope == SCOPE_CONNECTION and first.records == 100
    assert (second.records, second.passed, second.gate_passed) == (400, 390, False)
    assert second.scores["completeness"] == pytest.approx((100 * 90 + 300 * 100) / 400)
    assert second.details is None  # details are read only when asked for
    # the integration rollup: every connection of the vendor
    latest = score_history(warehouse, "shopify", details=True)[-1]
    assert latest.scope == SCOPE_INTEGRATION
    assert (latest.records, latest.passed) == (500, 440)
    assert latest.details == {
        "connections": 2,
        "entities": 3,
        "gate_failed": ["shop-a/orders", "shop-b/orders"],
        "gate_failed_count": 2,
    }
    connection = score_history(warehouse, "shopify", connection="shop-a", details=True)[-1]
    assert connection.details is not None
    assert [e["entity"] for e in connection.details["entities"]] == ["orders", "customers"]


def test_rollups_leave_out_entities_not_synced_for_over_a_week(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    week = Week(seed=3)
    save_assessment(
        warehouse, _assessment("shop", "refunds", "old", 50, 0, week), measured_at=START
    )
    later = START + ROLLUP_WINDOW + timedelta(hours=1)
    save_assessment(
        warehouse, _assessment("shop", "orders", "new", 100, 0, week), measured_at=later
    )
    rollup = score_history(warehouse, "shopify", connection="shop", since=later, details=True)
    assert [e["entity"] for e in rollup[0].details["entities"]] == ["orders"]
    assert rollup[0].records == 100


def test_history_is_kept_and_read_newest_or_oldest_first(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    week = Week(seed=2)
    for hour in range(3):
        assessment = _assessment("shop", "orders", f"run-{hour}", 100 + hour, hour, week)
        summary = summary_of(assessment.profile, 100.0 + hour, 60)
        save_assessment(
            warehouse, assessment, measured_at=START + timedelta(hours=hour), summary=summary
        )

    assert [m.run_id for m in recent_metrics(warehouse, "shop", "orders", 2)] == ["run-2", "run-1"]
    history = score_history(warehouse, "shopify", "shop", "orders")
    assert [m.run_id for m in history] == ["run-0", "run-1", "run-2"]
    since = score_history(warehouse, "shopify", "shop", "orders", since=START + timedelta(hours=1))
    assert [m.run_id for m in since] == ["run-1", "run-2"]
    summaries = metric_summaries(warehouse, "shop", "orders")
    assert [s["per_hour"] for _, s in summaries] == [100.0, 101.0, 102.0]
    assert summaries[0][0] == START
    assert summaries[0][1]["columns"]["status"]["kind"] == "categorical"

    findings = latest_findings(warehouse, connection="shop")
    assert [f.run_id for f in findings] == ["run-2", "run-1"]  # run-0 found nothing
    assert findings[0].finding == Finding(
        FindingKind.DRIFT, "js", 0.4, 0.12, 3.3, "status", "status: moved"
    )
    assert latest_findings(warehouse, vendor="klaviyo") == []


def test_readers_of_an_empty_warehouse_return_nothing(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    assert recent_metrics(warehouse, "shop", "orders") == []
    assert reference_profiles(warehouse, "shop", "orders") == []
    assert score_history(warehouse, "shopify") == []
    assert latest_findings(warehouse) == []


def test_a_large_numeric_sample_is_stored_as_a_smaller_subset_of_it() -> None:
    sample = tuple(float(i) + 0.5 for i in range(2048))
    stored = stored_sample(sample)
    assert len(stored) == STORED_SAMPLE
    assert set(stored) <= set(sample)
    assert stored == sorted(stored)  # in the sample's order
    assert stored_sample((1 / 3, 2.0)) == [0.333333, 2.0]  # six significant digits
