"""One alert per incident, none for repeats, one recovery; on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration_assets.alerts.alerter import Alerter, RunOutcome
from integration_assets.alerts.incidents import IncidentStore
from integration_assets.alerts.sinks import SlackWebhookSink
from integration_assets.load.warehouse import Warehouse
from integration_assets_tests.alerts.slack_endpoint import SlackEndpoint

BASE = "https://dagster.example.internal"


@pytest.fixture
def store(warehouse_url: str) -> Iterator[IncidentStore]:
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        yield IncidentStore(warehouse)
    finally:
        warehouse.dispose()


@pytest.fixture
def alerter(store: IncidentStore, slack: SlackEndpoint) -> Alerter:
    return Alerter(store, SlackWebhookSink(slack.url), base_url=BASE)


def failed(run_id: str, *entities: str, error: str = "server error 503") -> RunOutcome:
    return RunOutcome(run_id, "demo-shop", "sync", entities, "FetchError", error)


def test_a_failure_alerts_once_and_its_recovery_once(
    alerter: Alerter, store: IncidentStore, slack: SlackEndpoint
) -> None:
    first = alerter.run_failed(failed("run-1", "orders"))
    assert [a.run_url for a in first] == [f"{BASE}/runs/run-1"]
    assert slack.texts == [
        ":red_circle: Failing: sync of demo-shop/orders | FetchError: server error 503 | "
        f"run {BASE}/runs/run-1"
    ]

    assert alerter.run_failed(failed("run-2", "orders")) == []  # same incident: no new alert
    assert alerter.run_failed(failed("run-2", "orders")) == []  # the same run seen again
    (incident,) = store.incidents("demo-shop")
    assert (incident.failures, incident.alerted, incident.resolved_at) == (2, True, None)

    recovered = alerter.run_succeeded(RunOutcome("run-3", "demo-shop", "sync", ["orders"]))
    assert len(recovered) == 1 and len(slack.posts) == 2
    assert slack.texts[1] == (
        ":large_green_circle: Recovered: sync of demo-shop/orders succeeded after 2 failed "
        f"runs | run {BASE}/runs/run-3"
    )
    assert alerter.run_succeeded(RunOutcome("run-4", "demo-shop", "sync", ["orders"])) == []
    assert len(slack.posts) == 2
    (closed,) = store.incidents("demo-shop")
    assert closed.resolved_at is not None


def test_a_failure_after_recovery_is_a_new_incident(alerter: Alerter, slack: SlackEndpoint) -> None:
    alerter.run_failed(failed("run-1", "orders"))
    alerter.run_succeeded(RunOutcome("run-2", "demo-shop", "sync", ["orders"]))
    alerter.run_failed(failed("run-3", "orders"))
    assert [text.split(" | ")[0] for text in slack.texts] == [
        ":red_circle: Failing: sync of demo-shop/orders",
        ":large_green_circle: Recovered: sync of demo-shop/orders succeeded after 1 failed run",
        ":red_circle: Failing: sync of demo-shop/orders",
    ]


def test_each_entity_and_kind_is_its_own_incident(alerter: Alerter, slack: SlackEndpoint) -> None:
    alerter.run_failed(failed("run-1", "orders", "customers"))
    alerter.run_failed(RunOutcome("run-2", "demo-shop", "reconcile", ["orders"], "X", "y"))
    assert len(slack.posts) == 3
    # A successful sync of customers closes only that incident.
    alerter.run_succeeded(RunOutcome("run-3", "demo-shop", "sync", ["customers"]))
    assert slack.texts[-1].startswith(":large_green_circle: Recovered: sync of demo-shop/customers")
    assert len(slack.posts) == 4


def test_an_undelivered_alert_is_sent_at_the_next_failure(
    alerter: Alerter, store: IncidentStore, slack: SlackEndpoint
) -> None:
    slack.refuse_with = (500, "rollup_error")
    assert alerter.run_failed(failed("run-1", "orders")) == []
    (incident,) = store.incidents()
    assert not incident.alerted

    slack.refuse_with = None
    assert len(alerter.run_failed(failed("run-2", "orders"))) == 1
    assert len(slack.posts) == 1 and store.incidents()[0].alerted


def test_a_recovery_of_an_incident_nobody_was_told_of_stays_quiet(
    alerter: Alerter, slack: SlackEndpoint
) -> None:
    slack.refuse_with = (500, "rollup_error")
    alerter.run_failed(failed("run-1", "orders"))
    slack.refuse_with = None
    assert alerter.run_succeeded(RunOutcome("run-2", "demo-shop", "sync", ["orders"])) == []
    assert slack.posts == []


def test_the_message_is_redacted_before_it_leaves(alerter: Alerter, slack: SlackEndpoint) -> None:
    leaky = (
        "401 from https://shop.example/admin/orders.json?access_token=shpat_123&limit=250 "
        "for jane.doe@example.com, phone +1 555 123 4567"
    )
    alerter.run_failed(failed("run-1", "orders", error=leaky))
    (text,) = slack.texts
    for secret in ("shpat_123", "jane.doe@example.com", "555 123 4567"):
        assert secret not in text
        assert secret not in str(slack.posts[0]["blocks"])
    assert "access_token=***&limit=250" in text
    assert "j***m" in text


def test_a_run_that_failed_outside_any_entity_is_closed_by_any_success(
    alerter: Alerter, store: IncidentStore, slack: SlackEndpoint
) -> None:
    crashed = RunOutcome("run-1", "demo-shop", "sync", ["*"], "RunFailure", "worker lost")
    assert len(alerter.run_failed(crashed)) == 1
    recovered = alerter.run_succeeded(RunOutcome("run-2", "demo-shop", "sync", ["orders"]))
    assert [a.entity for a in recovered] == ["*"]
    assert store.incidents()[0].resolved_at is not None
