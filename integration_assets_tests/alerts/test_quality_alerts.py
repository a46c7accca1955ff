"""Quality alerts from the quality tables (SQLite, and Postgres too for the first story), to
the Slack stand-in: one alert per incident however many bad syncs, one recovery at the next
good one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from integration_assets.alerts.alerter import Alerter
from integration_assets.alerts.incidents import IncidentStore
from integration_assets.alerts.quality import SETTLE, QualityAlerts
from integration_assets.alerts.sinks import SlackWebhookSink
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.model import Finding, FindingKind
from integration_assets.quality.settings import QualitySettings
from integration_assets_tests.alerts.quality_history import QualityHistory
from integration_assets_tests.alerts.slack_endpoint import SlackEndpoint

BASE = "https://dagster.example.internal"
ROWS_DROP = Finding(
    FindingKind.VOLUME_ANOMALY, "rows", 40.0, 610.0, -7.5, message="rows 40 against 610"
)
EMAIL_NULLS = Finding(
    FindingKind.NULL_RATE_ANOMALY,
    "null_rate",
    0.4,
    0.01,
    9.1,
    column="email",
    message="email null rate 40% against 1% (e.g. jane.doe@example.com)",
)
STATE_DRIFT = Finding(
    FindingKind.DRIFT, "js", 0.3, 0.1, 3.0, column="state", message="state drifted (JS 0.30)"
)


@pytest.fixture
def backend() -> str:
    """SQLite, unless a test asks for both (the rules' queries are the same on both)."""
    return "sqlite"


@pytest.fixture
def warehouse(request: pytest.FixtureRequest, backend: str) -> Iterator[Warehouse]:
    warehouse = Warehouse.from_url(request.getfixturevalue(f"{backend}_url"))
    try:
        yield warehouse
    finally:
        warehouse.dispose()


@pytest.fixture
def history(warehouse: Warehouse) -> QualityHistory:
    return QualityHistory(warehouse)


@pytest.fixture
def alerts(warehouse: Warehouse, slack: SlackEndpoint) -> QualityAlerts:
    alerter = Alerter(IncidentStore(warehouse), SlackWebhookSink(slack.url), base_url=BASE)
    return QualityAlerts(warehouse, alerter, settings=lambda _c, _e: QualitySettings())


def titles(slack: SlackEndpoint) -> list[str]:
    return [text.split(" | ")[0] for text in slack.texts]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_failed_gate_alerts_once_over_two_bad_syncs_and_recovers_at_the_next_good_one(
    alerts: QualityAlerts, history: QualityHistory, warehouse: Warehouse, slack: SlackEndpoint
) -> None:
    first = history.sync(passed=310)
    cursor, sent = alerts.process(after=0)
    assert [a.incident_kind for a in sent] == ["quality_gate"]
    assert slack.texts == [
        ":red_circle: Failing: quality gate of demo-shop/customers | 310 of 620 records "
        "passed (50.0%), under the threshold of 95.0%; nothing was published. Most common "
        f"failures: email on email: 310 | run {BASE}/runs/{first}"
    ]

    history.sync(passed=300)
    cursor, sent = alerts.process(after=cursor)
    assert sent == [] and len(slack.posts) == 1  # the same incident: nobody is told twice

    good = history.sync()
    cursor, sent = alerts.process(after=cursor)
    assert titles(slack)[1:] == [
        ":large_green_circle: Recovered: quality gate of demo-shop/customers is fine again"
    ]
    assert slack.texts[1].endswith(f"run {BASE}/runs/{good}")
    (incident,) = IncidentStore(warehouse).incidents("demo-shop")
    assert (incident.kind, incident.failures) == ("quality_gate", 2)
    assert incident.resolved_at is not None
    assert alerts.process(after=cursor) == (cursor, [])


def test_a_score_drop_against_the_median_of_recent_syncs_alerts_and_recovers(
    alerts: QualityAlerts, history: QualityHistory, slack: SlackEndpoint
) -> None:
    for score in (96.0, 94.0, 97.0, 95.0):
        history.sync(overall=score)
    history.sync(overall=86.0)  # 9.5 under the median 95.5: within the 10 points allowed
    cursor, sent = alerts.process(after=0)
    assert sent == []

    history.sync(overall=80.0)
    cursor, sent = alerts.process(after=cursor)
    assert [a.incident_kind for a in sent] == ["quality_score"]
    assert sent[0].error_message == (
        "overall score 80.0, 15.0 points under the median 95.0 of the last 5 syncs (alert above 10)"
    )

    history.sync(overall=95.0)
    cursor, sent = alerts.process(after=cursor)
    assert titles(slack)[-1] == (
        ":large_green_circle: Recovered: quality score of demo-shop/customers is fine again"
    )


def test_a_stopped_sync_is_the_gates_incident_not_also_a_score_drop(
    alerts: QualityAlerts, history: QualityHistory
) -> None:
    for _ in range(4):
        history.sync(overall=96.0)
    history.sync(overall=50.0, passed=310)
    _, sent = alerts.process(after=0)
    assert [a.incident_kind for a in sent] == ["quality_gate"]


def test_anomalies_and_drift_are_incidents_of_their_own_named_and_masked(
    alerts: QualityAlerts, history: QualityHistory, slack: SlackEndpoint
) -> None:
    history.sync(findings=(ROWS_DROP, EMAIL_NULLS, STATE_DRIFT))
    cursor, sent = alerts.process(after=0)

    assert {a.incident_kind: a.error_message for a in sent} == {
        "anomaly": "rows 40 against 610; email null rate 40% against 1% (e.g. j***m)",
        "drift": "state drifted (JS 0.30)",
    }
    assert "jane.doe@example.com" not in str(slack.posts)

    history.sync(findings=(STATE_DRIFT,))  # the anomaly cleared, the drift goes on
    cursor, sent = alerts.process(after=cursor)
    assert [(a.kind.value, a.incident_kind) for a in sent] == [("recovery", "anomaly")]


def test_each_entity_is_judged_on_its_own_and_rollups_are_not_judged(
    alerts: QualityAlerts, history: QualityHistory
) -> None:
    history.sync("customers", passed=310)
    history.connection_rollup()
    history.sync("orders")
    cursor, sent = alerts.process(after=0)
    assert [(a.entity, a.incident_kind) for a in sent] == [("customers", "quality_gate")]
    assert cursor == alerts.newest_id()

    history.sync("orders", passed=1)
    _, sent = alerts.process(after=cursor)
    assert [(a.entity, a.incident_kind) for a in sent] == [("orders", "quality_gate")]


def test_judging_goes_in_batches_from_the_cursor(
    alerts: QualityAlerts, history: QualityHistory
) -> None:
    for _ in range(3):
        history.sync(passed=100)
    cursor, sent = alerts.process(after=0, limit=2)
    assert len(sent) == 1
    cursor, sent = alerts.process(after=cursor, limit=2)
    assert sent == [] and cursor == alerts.newest_id()


def stopped_orders_sync(at: datetime) -> dict[str, object]:
    """A `quality_metrics` sync row of orders whose gate failed."""
    return {
        "measured_at": at,
        "scope": "sync",
        "vendor": "shopify",
        "connection": "demo-shop",
        "entity": "orders",
        "run_id": "run-slow",
        "records": 100,
        "passed": 10,
        "pass_rate": 0.1,
        "threshold": 0.95,
        "gate_passed": False,
        "overall": 10.0,
        "details": {},
    }


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_sync_committed_after_a_later_one_is_still_judged(
    alerts: QualityAlerts, history: QualityHistory, warehouse: Warehouse
) -> None:
    """Two syncs save their assessments at once on Postgres: the first takes id n but
    commits after the second (n + 1) is visible. The sensor ticking in between must not
    step over n, or that sync's failed gate is never alerted."""
    now = datetime.now(UTC)
    with warehouse.engine.connect() as slow:
        transaction = slow.begin()
        slow.execute(insert(history.tables.metrics).values(**stopped_orders_sync(now)))
        history.sync("customers", at=now)  # committed first, with the higher id
        cursor, sent = alerts.process(after=0, now=now + timedelta(seconds=5))
        assert sent == []  # it waits for the id before it rather than skip it
        transaction.commit()

    cursor, sent = alerts.process(after=cursor, now=now + timedelta(seconds=10))
    assert [(a.entity, a.incident_kind) for a in sent] == [("orders", "quality_gate")]
    assert cursor == alerts.newest_id()


@pytest.mark.parametrize("backend", ["postgres"])
def test_an_id_whose_transaction_rolled_back_holds_judging_up_only_a_while(
    alerts: QualityAlerts, history: QualityHistory, warehouse: Warehouse
) -> None:
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError), warehouse.begin() as conn:  # a save that failed
        conn.execute(insert(history.tables.metrics).values(**stopped_orders_sync(now)))
        raise RuntimeError("the assessment could not be saved")
    history.sync("orders", passed=1, at=now)

    cursor, sent = alerts.process(after=0, now=now + timedelta(seconds=5))
    assert sent == [] and cursor == 0
    cursor, sent = alerts.process(after=cursor, now=now + SETTLE + timedelta(seconds=1))
    assert [(a.entity, a.incident_kind) for a in sent] == [("orders", "quality_gate")]
    assert cursor == alerts.newest_id()
