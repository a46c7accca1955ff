"""Issue 8's "Done when", end to end: from hourly syncs to an alert in a local sink.

Each story goes through the real parts in the order production runs them: the week
generator's rows are profiled by `ColumnProfiler`, `assess_sync` judges them against the
stored history and stores the assessment, the Dagster checks are built from it
(`check_results`), and the real `quality_alerts` sensor, evaluated as the daemon would, reads
the new rows and sends to the sinks the environment configures: Slack (a loopback HTTP
endpoint) and email (aiosmtpd on the loopback).

1. A normal week of hourly syncs raises nothing: no finding, no Slack post, no email.
2. After it, a sync with a tenth of the usual changes is a volume anomaly: one alert on each
   sink; a second bad sync is the same incident (no second alert); a normal sync recovers it
   (one recovery message on each sink). Told on SQLite and on Postgres.
3. After it, a sync where one status's share moves from 10% to 60% is drift on that column
   only: the `drift` check names it, one alert on each sink.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetCheckResult, DagsterInstance, SensorDefinition, build_sensor_context
from sqlalchemy import func, select

from integration_assets.alerts.sinks import SLACK_WEBHOOK_ENV
from integration_assets.alerts.smtp import (
    SMTP_FROM_ENV,
    SMTP_HOST_ENV,
    SMTP_PORT_ENV,
    SMTP_STARTTLS_ENV,
    SMTP_TO_ENV,
)
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.quality_alerts import (
    QUALITY_SENSOR,
    build_quality_alert_sensors,
)
from integration_assets.orchestration.quality_checks import (
    ANOMALY_KINDS,
    DRIFT,
    VOLUME_ANOMALY,
    check_results,
)
from integration_assets.orchestration.resources import ConnectionsResource, WarehouseResource
from integration_assets.quality.assess import assess_sync
from integration_assets.quality.metrics import SCOPE_SYNC, quality_tables
from integration_assets.quality.model import Assessment, FindingKind
from integration_assets.quality.settings import QualitySettings
from integration_assets_tests.alerts.slack_endpoint import SlackEndpoint, slack_endpoint
from integration_assets_tests.alerts.smtp_server import SmtpServer, smtp_server
from integration_assets_tests.orchestration.harness import MAPPINGS
from integration_assets_tests.quality.week import (
    ORDERS,
    START,
    STATUSES,
    USUAL_SHARES,
    Week,
    clean_report,
    profile_of,
)

CONNECTION, ENTITY = "demo-shop", "orders"
BASE = "https://dagster.example.internal"
FIRST = START + timedelta(hours=16)  # Monday 16:00: the week ends, and the stories go on, busy
HOURS = 7 * 24
CONNECTIONS = f"""
connections:
  - name: {CONNECTION}
    vendor: shopify
    base_url: http://127.0.0.1:9
    secrets: {{access_token: IA_STORY_SHOP_TOKEN}}
    entities: {{{ENTITY}: hourly}}
"""
# "refunded" (usually 10%) takes 60%; the others keep their proportions in the remaining 40%.
SHIFTED = tuple(
    0.6 if status == "refunded" else share * 0.4 / 0.9
    for status, share in zip(STATUSES, USUAL_SHARES, strict=True)
)


@dataclass
class Sinks:
    slack: SlackEndpoint
    smtp: SmtpServer

    @property
    def subjects(self) -> list[str]:
        """Unfolded as RFC 5322 reads them: a long subject is folded before its first word,
        and Python's parser keeps the space that follows the colon."""
        return [str(r.message["Subject"]).lstrip() for r in self.smtp.received]

    @property
    def bodies(self) -> list[str]:
        return [r.message.get_content() for r in self.smtp.received]


@contextmanager
def alert_sinks(tmp: Path) -> Iterator[Sinks]:
    """Both sinks up on the loopback and configured through the environment, as in
    production (the sensor reads it at each evaluation)."""
    connections = tmp / "connections.yaml"
    connections.write_text(CONNECTIONS)
    with slack_endpoint() as slack, smtp_server() as smtp, pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_WEBSERVER_URL", BASE)
        env.setenv("IA_STORY_SHOP_TOKEN", "shpat_not_used_here")
        env.setenv("INTEGRATION_CONNECTIONS", str(connections))
        env.setenv("INTEGRATION_MAPPINGS", str(MAPPINGS))
        env.setenv(SLACK_WEBHOOK_ENV, slack.url)
        env.setenv(SMTP_HOST_ENV, "127.0.0.1")
        env.setenv(SMTP_PORT_ENV, str(smtp.port))
        env.setenv(SMTP_FROM_ENV, "dagster@example.test")
        env.setenv(SMTP_TO_ENV, "data-oncall@example.test")
        env.setenv(SMTP_STARTTLS_ENV, "false")
        yield Sinks(slack, smtp)


class Shop:
    """One warehouse with the orders entity synced hourly, watched by the `quality_alerts`
    sensor (its cursor kept here, as the daemon keeps it)."""

    def __init__(self, url: str, week: Week, instance: DagsterInstance, cursor: str | None) -> None:
        self.url = url
        self.week = week
        self.instance = instance
        self.cursor = cursor
        self.warehouse = Warehouse.from_url(url)
        sensors = build_quality_alert_sensors([("shopify", ENTITY)], lambda: [])
        self.sensor: SensorDefinition = next(s for s in sensors if s.name == QUALITY_SENSOR)

    def sync(self, at: datetime, rows: list[dict[str, Any]], run_id: str) -> Assessment:
        """One hourly sync of `rows`, every record valid, assessed and stored."""
        return assess_sync(
            self.warehouse,
            vendor="shopify",
            connection=CONNECTION,
            entity=ENTITY,
            run_id=run_id,
            table=ORDERS,
            report=clean_report(len(rows)),
            profile=profile_of(rows),
            settings=QualitySettings(),
            minutes_since_previous_sync=60,
            allowed_minutes=120,
            now=at,
        )

    def usual_sync(self, at: datetime, run_id: str) -> Assessment:
        return self.sync(at, self.week.rows(at, self.week.count(at)), run_id)

    def tick(self) -> None:
        """Evaluate the sensor once, as the daemon does, and keep its cursor."""
        with build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={
                "warehouse": WarehouseResource(url=self.url),
                "connections": ConnectionsResource(),
            },
        ) as context:
            result = self.sensor(context)
        self.cursor = result.cursor

    def newest_sync_row(self) -> str:
        """The id of the newest sync row of `quality_metrics`: where the sensor should be."""
        metrics = quality_tables(self.warehouse.dialect).metrics
        query = select(func.max(metrics.c.id)).where(metrics.c.scope == SCOPE_SYNC)
        with self.warehouse.read() as conn:
            return str(conn.execute(query).scalar_one())

    def finding_rows(self) -> int:
        findings = quality_tables(self.warehouse.dialect).findings
        with self.warehouse.read() as conn:
            return conn.execute(select(func.count()).select_from(findings)).scalar_one()

    def close(self) -> None:
        self.warehouse.dispose()


@dataclass(frozen=True)
class NormalWeek:
    """What a normal week left behind: the warehouse file, the generator as it stands after
    the week (so the stories go on with the same one), the sensor's cursor, and what the
    sinks received meanwhile."""

    database: Path
    week: Week
    cursor: str
    assessments: list[Assessment]
    slack_posts: list[dict[str, Any]]
    emails: list[str]
    finding_rows: int
    newest_sync_row: str


def live_a_normal_week(shop: Shop) -> list[Assessment]:
    """A week of hourly syncs from FIRST, the sensor evaluated once before and once a day."""
    shop.tick()  # its first evaluation starts after the (empty) history
    assessments = []
    for hour in range(HOURS):
        assessments.append(shop.usual_sync(FIRST + timedelta(hours=hour), f"run-{hour:03d}"))
        if hour % 24 == 23:
            shop.tick()
    return assessments


@pytest.fixture(scope="module")
def normal_week(tmp_path_factory: pytest.TempPathFactory) -> NormalWeek:
    directory = tmp_path_factory.mktemp("normal-week")
    database = directory / "warehouse.db"
    with (
        alert_sinks(directory) as sinks,
        DagsterInstance.ephemeral() as instance,
    ):
        shop = Shop(f"sqlite:///{database}", Week(seed=11), instance, cursor=None)
        assessments = live_a_normal_week(shop)
        findings = shop.finding_rows()
        newest = shop.newest_sync_row()
        shop.close()
    assert shop.cursor is not None
    return NormalWeek(
        database=database,
        week=shop.week,
        cursor=shop.cursor,
        assessments=assessments,
        slack_posts=list(sinks.slack.posts),
        emails=sinks.subjects,
        finding_rows=findings,
        newest_sync_row=newest,
    )


@pytest.fixture
def sinks(tmp_path: Path) -> Iterator[Sinks]:
    with alert_sinks(tmp_path) as configured:
        yield configured


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


@pytest.fixture
def after_the_week(
    normal_week: NormalWeek, tmp_path: Path, instance: DagsterInstance
) -> Iterator[Shop]:
    """A copy of the week's warehouse, with the generator and the sensor's cursor where the
    week left them, for a story that goes on from there."""
    for file in normal_week.database.parent.glob(normal_week.database.name + "*"):
        shutil.copy(file, tmp_path / file.name)
    shop = Shop(
        f"sqlite:///{tmp_path / normal_week.database.name}",
        copy.deepcopy(normal_week.week),
        instance,
        cursor=normal_week.cursor,
    )
    yield shop
    shop.close()


NEXT = FIRST + timedelta(hours=HOURS)  # the hour after the week: Monday 16:00 again


def failed_checks(assessment: Assessment) -> dict[str, AssetCheckResult]:
    return {r.check_name: r for r in check_results(assessment) if not r.passed}


def test_a_normal_week_raises_no_finding_and_no_alert(normal_week: NormalWeek) -> None:
    assert len(normal_week.assessments) == HOURS
    assert [f.message for a in normal_week.assessments for f in a.findings] == []
    assert all(failed_checks(a) == {} for a in normal_week.assessments)
    assert normal_week.finding_rows == 0
    assert normal_week.slack_posts == [] and normal_week.emails == []
    # it judged every sync (and stepped over the rollup rows written after the last one)
    assert int(normal_week.cursor) >= int(normal_week.newest_sync_row)


def tell_the_volume_drop(shop: Shop, sinks: Sinks) -> None:
    """Story 2 on `shop`, a warehouse after a normal week."""
    target = f"{CONNECTION}/{ENTITY}"
    dropped = shop.week.rows(NEXT, shop.week.count(NEXT, factor=0.1))
    assessment = shop.sync(NEXT, dropped, "run-drop")

    [finding] = assessment.findings
    assert (finding.kind, finding.value) == (FindingKind.VOLUME_ANOMALY, len(dropped))
    assert "volume drop" in finding.message
    failed = failed_checks(assessment)
    assert list(failed) == [VOLUME_ANOMALY]
    assert "volume drop" in str(failed[VOLUME_ANOMALY].description)

    shop.tick()
    [post] = sinks.slack.texts
    assert post.startswith(f":red_circle: Failing: anomaly check of {target} | volume drop")
    assert post.endswith(f"run {BASE}/runs/run-drop")
    assert sinks.subjects == [f"[integration] Failing: anomaly check of {target}"]
    [body] = sinks.bodies
    assert f"Connection: {CONNECTION}" in body and f"Entity: {ENTITY}" in body
    assert "volume drop" in body

    later = NEXT + timedelta(hours=1)
    again = shop.sync(later, shop.week.rows(later, shop.week.count(later, factor=0.1)), "run-2")
    assert [f.kind for f in again.findings] == [FindingKind.VOLUME_ANOMALY]
    shop.tick()
    assert len(sinks.slack.posts) == 1 and len(sinks.smtp.received) == 1  # one incident

    recovered = shop.usual_sync(NEXT + timedelta(hours=2), "run-3")
    assert recovered.findings == ()
    shop.tick()
    recovery = f"Recovered: anomaly check of {target} is fine again"
    assert sinks.slack.texts[1].startswith(f":large_green_circle: {recovery}")
    assert sinks.subjects[1] == f"[integration] {recovery}"
    assert len(sinks.slack.posts) == 2 and len(sinks.smtp.received) == 2


def test_a_volume_drop_to_a_tenth_alerts_once_and_recovers(
    after_the_week: Shop, sinks: Sinks
) -> None:
    tell_the_volume_drop(after_the_week, sinks)


def test_a_volume_drop_after_a_normal_week_on_postgres(
    postgres_url: str, sinks: Sinks, instance: DagsterInstance
) -> None:
    shop = Shop(postgres_url, Week(seed=11), instance, cursor=None)
    try:
        live_a_normal_week(shop)
        assert shop.finding_rows() == 0 and sinks.slack.posts == [] and sinks.smtp.received == []
        tell_the_volume_drop(shop, sinks)
    finally:
        shop.close()


def test_a_status_moving_from_10_to_60_percent_is_drift_on_that_column_alerted_once(
    after_the_week: Shop, sinks: Sinks
) -> None:
    shop = after_the_week
    rows = shop.week.rows(NEXT, shop.week.count(NEXT), shares=SHIFTED)
    assessment = shop.sync(NEXT, rows, "run-shift")

    assert [(f.kind, f.column) for f in assessment.findings] == [(FindingKind.DRIFT, "status")]
    assert not [f for f in assessment.findings if f.kind in ANOMALY_KINDS]
    failed = failed_checks(assessment)
    assert list(failed) == [DRIFT]
    assert str(failed[DRIFT].description).startswith("1 found: status: ")
    assert "'refunded'" in str(failed[DRIFT].description)

    shop.tick()
    target = f"{CONNECTION}/{ENTITY}"
    [post] = sinks.slack.texts
    assert post.startswith(f":red_circle: Failing: drift check of {target} | status: ")
    assert "'refunded'" in post
    assert sinks.subjects == [f"[integration] Failing: drift check of {target}"]
    [body] = sinks.bodies
    assert f"Entity: {ENTITY}" in body and "status: " in body

    shop.tick()  # nothing new: nothing sent again
    assert len(sinks.slack.posts) == 1 and len(sinks.smtp.received) == 1
