"""The alert sensors on real runs: a sync that fails (a revoked token) posts one alert to the
Slack stand-in, failing again posts nothing, and the sync that succeeds posts one recovery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterRun,
    ExecuteInProcessResult,
    build_run_status_sensor_context,
)

from integration_assets.alerts.incidents import IncidentStore
from integration_assets.alerts.sinks import SLACK_WEBHOOK_ENV
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.alerts import FAILURE_SENSOR, RECOVERY_SENSOR
from integration_assets.orchestration.resources import WarehouseResource
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
