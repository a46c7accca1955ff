"""The alert sensors on real runs: a sync that fails (a revoked token) posts one alert to the
Slack stand-in, failing again posts nothing, and the sync that succeeds posts one recovery."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    Definitions,
    ExecuteInProcessResult,
    SkipReason,
    build_run_status_sensor_context,
    job,
    op,
)

from integration_assets.alerts.incidents import IncidentStore
from integration_assets.alerts.routing import sink_from_env
from integration_assets.alerts.sinks import SLACK_WEBHOOK_ENV, LogSink
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.alerts import (
    FAILURE_SENSOR,
    RECOVERY_SENSOR,
    build_alert_sensors,
)
from integration_assets.orchestration.resources import WarehouseResource
from integration_assets.orchestration.schedules import CONNECTION_TAG
from integration_assets.sandbox import Sandbox
from integration_assets_tests.alerts.slack_endpoint import SlackEndpoint, slack_endpoint
from integration_assets_tests.orchestration.harness import SHOP, Deployment, deploy


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackEndpoint]:
    with slack_endpoint() as endpoint:
        monkeypatch.setenv(SLACK_WEBHOOK_ENV, endpoint.url)
        monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "https://dagster.example.internal/")
        yield endpoint


@pytest.fixture
def deployment(
    tmp_path: Path, sandbox: Sandbox, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Deployment:
    return deploy(tmp_path, sandbox, sqlite_url, monkeypatch)


def evaluate(deployment: Deployment, result: ExecuteInProcessResult) -> None:
    """Run the sensor that watches this run's final status, as the daemon would."""
    run = deployment.instance.get_run_by_id(result.run_id)
    assert isinstance(run, DagsterRun)
    if result.success:
        name, event_type = RECOVERY_SENSOR, DagsterEventType.RUN_SUCCESS
    else:
        name, event_type = FAILURE_SENSOR, DagsterEventType.RUN_FAILURE
    (record,) = deployment.instance.all_logs(result.run_id, of_type=event_type)
    assert record.dagster_event is not None
    sensor = deployment.defs.resolve_sensor_def(name)
    with build_run_status_sensor_context(
        sensor_name=name,
        dagster_event=record.dagster_event,
        dagster_instance=deployment.instance,
        dagster_run=run,
        resources={"warehouse": WarehouseResource(url=deployment.warehouse_url)},
    ) as context:
        sensor(context if result.success else context.for_run_failure())


def test_a_failing_sync_alerts_once_and_its_recovery_once(
    deployment: Deployment, slack: SlackEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", "shpat_revoked_token_value")
    first = deployment.sync("shopify", "customers", raise_on_error=False)
    assert not first.success
    evaluate(deployment, first)

    (post,) = slack.posts
    assert post["text"].startswith(
        ":red_circle: Failing: sync of test-shop/customers | AuthenticationError: "
    )
    assert "IA_TEST_SHOP_TOKEN" in post["text"]  # what to fix ...
    assert "shpat_revoked_token_value" not in str(post)  # ... never its value
    assert post["blocks"][-1]["elements"][0]["text"] == (
        f"<https://dagster.example.internal/runs/{first.run_id}|Run {first.run_id}>"
    )

    second = deployment.sync("shopify", "customers", raise_on_error=False)
    evaluate(deployment, second)
    assert len(slack.posts) == 1  # the same incident: nobody is told twice

    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", deployment.sandbox.shopify.access_token)
    fixed = deployment.sync("shopify", "customers")
    evaluate(deployment, fixed)
    assert len(slack.posts) == 2
    assert slack.texts[1] == (
        ":large_green_circle: Recovered: sync of test-shop/customers succeeded after 2 failed "
        f"runs | run https://dagster.example.internal/runs/{fixed.run_id}"
    )
    warehouse = Warehouse.from_url(deployment.warehouse_url)
    try:
        (incident,) = IncidentStore(warehouse).incidents(SHOP)
    finally:
        warehouse.dispose()
    assert incident.resolved_at is not None and incident.failures == 2
    assert incident.error_class == "AuthenticationError"


def _broken_job_defs(sink: LogSink, warehouse_url: str) -> Definitions:
    @op
    def always_fails() -> None:
        raise ConnectionResetError("the vendor hung up")

    @job
    def housekeeping() -> None:
        always_fails()

    return Definitions(
        jobs=[housekeeping],
        sensors=build_alert_sensors(lambda: sink),
        resources={"warehouse": WarehouseResource(url=warehouse_url)},
    )


def _evaluate_failure(
    defs: Definitions, instance: DagsterInstance, run_id: str, warehouse_url: str
) -> object:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    (record,) = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
    assert record.dagster_event is not None
    with build_run_status_sensor_context(
        sensor_name=FAILURE_SENSOR,
        dagster_event=record.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"warehouse": WarehouseResource(url=warehouse_url)},
    ) as context:
        return defs.resolve_sensor_def(FAILURE_SENSOR)(context.for_run_failure())


def test_a_failed_run_that_names_no_connection_is_skipped_with_the_reason(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    defs = _broken_job_defs(LogSink(), sqlite_url)
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("housekeeping").execute_in_process(
            instance=instance, raise_on_error=False
        )
        with caplog.at_level(logging.INFO, logger="integration_assets.alerts"):
            outcome = _evaluate_failure(defs, instance, result.run_id, sqlite_url)
    assert isinstance(outcome, SkipReason)
    assert outcome.skip_message == f"run {result.run_id} names no connection"
    assert not [r for r in caplog.records if r.name == "integration_assets.alerts"]


def test_without_a_slack_url_the_alert_is_a_log_line(
    sqlite_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SLACK_WEBHOOK_ENV, raising=False)
    monkeypatch.delenv("DAGSTER_WEBSERVER_URL", raising=False)
    defs = _broken_job_defs(sink_from_env(), sqlite_url)
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("housekeeping").execute_in_process(
            instance=instance, raise_on_error=False, tags={CONNECTION_TAG: "demo-shop"}
        )
        with caplog.at_level(logging.INFO, logger="integration_assets.alerts"):
            _evaluate_failure(defs, instance, result.run_id, sqlite_url)
    (line,) = [r for r in caplog.records if r.name == "integration_assets.alerts"]
    assert line.levelno == logging.ERROR
    assert line.getMessage() == (
        "integration alert: Failing: sync of demo-shop/* | ConnectionResetError: the vendor "
        f"hung up | run http://127.0.0.1:3000/runs/{result.run_id}"
    )
