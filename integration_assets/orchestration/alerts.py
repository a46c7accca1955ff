"""The Dagster side of alerting: run status sensors that feed `integration_assets.alerts`.

`sync_failure_alerts` (a run failure sensor) turns each failed sync or reconcile run into a
`RunOutcome`: the connection from the run's tags, the entities of the steps that failed, the
first failed step's own error class and message (not Dagster's wrappers). `sync_recovery_alerts`
(a run status sensor on SUCCESS) resolves the incidents of what a successful run covered.
Both start RUNNING: without a Slack URL the alerts go to the log, which is harmless.

Where an alert goes is `INTEGRATION_ALERT_SLACK_WEBHOOK_URL` (else the log), read at each
evaluation so a change needs no reload; incidents live in the warehouse (`alerts/incidents.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from dagster import (
    DagsterEvent,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorDefinition,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
)
from dagster._core.storage.tags import PARTITION_NAME_TAG

from integration_assets.alerts.alerter import Alerter, RunOutcome
from integration_assets.alerts.incidents import WHOLE_RUN, IncidentStore
from integration_assets.alerts.routing import sink_from_env
from integration_assets.alerts.sinks import AlertSink
from integration_assets.orchestration.quality_checks import GATE_ERROR
from integration_assets.orchestration.resources import WarehouseResource
from integration_assets.orchestration.schedules import CONNECTION_TAG, TARGET_TAG

FAILURE_SENSOR = "sync_failure_alerts"
RECOVERY_SENSOR = "sync_recovery_alerts"
_ASSET_STEP = re.compile(r"^[a-z0-9_]+?__(?P<entity>[a-z0-9_]+)\.")
_MAPPED_STEP = re.compile(r"\[(?P<entity>[^\]]+)\]$")
_WRAPPERS = ("RetryRequestedFromPolicy", "Failure")
SinkFactory = Callable[[], AlertSink]


def run_kind(run: DagsterRun) -> str:
    return "reconcile" if run.job_name.endswith("_reconcile") else "sync"


def run_connection(run: DagsterRun) -> str | None:
    """Scheduled runs carry `integration/connection`; UI runs only their partition."""
    return run.tags.get(CONNECTION_TAG) or run.tags.get(PARTITION_NAME_TAG)


def run_entities(run: DagsterRun) -> list[str]:
    """The entities a run covers: its target tag, else its asset selection."""
    target = run.tags.get(TARGET_TAG)
    if target:
        return [item.rpartition("/")[2] for item in target.split(",") if item]
    return sorted({key.path[-1] for key in run.asset_selection or ()})


def step_entity(step_key: str | None) -> str | None:
    """`shopify__orders.shopify_orders_load` → orders; `shopify_reconcile_entity[orders]` → orders."""
    for pattern in (_ASSET_STEP, _MAPPED_STEP):
        found = pattern.search(step_key or "")
        if found:
            return found.group("entity")
    return None


def step_error(event: DagsterEvent) -> tuple[str, str]:
    """The step's own exception (class, message) beneath Dagster's wrappers."""
    data = event.step_failure_data
    error: Any = data.error if data else None
    if error is None:
        return "StepFailure", event.message or ""
    while error.cause is not None and (
        error.cls_name.startswith("Dagster") or error.cls_name in _WRAPPERS
    ):
        error = error.cause
    message = error.message.strip()
    qualified, separator, rest = message.partition(": ")
    if separator and qualified.endswith(error.cls_name):
        message = rest  # Dagster prefixes the exception's module path
    return error.cls_name, message


def stopped_by_quality_gate(event: DagsterEvent) -> bool:
    """A step the quality gate failed: the `quality_alerts` sensor alerts on it (as a
    `quality_gate` incident, with the pass rate), so the failure sensor does not too."""
    return step_error(event)[1].startswith(f"{GATE_ERROR}:")


def failed_outcome(context: RunFailureSensorContext) -> RunOutcome | None:
    run = context.dagster_run
    connection = run_connection(run)
    if connection is None:
        return None
    steps = [s for s in context.get_step_failure_events() if not stopped_by_quality_gate(s)]
    entities = sorted({e for e in (step_entity(s.step_key) for s in steps) if e})
    if steps:
        error_class, message = step_error(steps[0])
    else:  # the run failed outside any step (crashed worker, run timeout)
        error_class, message = "RunFailure", context.failure_event.message or ""
    return RunOutcome(
        run_id=run.run_id,
        connection=connection,
        kind=run_kind(run),
        entities=entities or run_entities(run) or [WHOLE_RUN],
        error_class=error_class,
        error_message=message,
    )


def _alerter(warehouse: WarehouseResource, sink: SinkFactory) -> Alerter:
    return Alerter(IncidentStore(warehouse.get()), sink())


def build_alert_sensors(sink: SinkFactory = sink_from_env) -> Sequence[SensorDefinition]:
    """The failure and recovery sensors; `sink` is called at each evaluation."""

    @run_failure_sensor(
        name=FAILURE_SENSOR,
        default_status=DefaultSensorStatus.RUNNING,
        description="One alert per failing (connection, entity), to Slack or the log.",
    )
    def failure_alerts(context: RunFailureSensorContext, warehouse: WarehouseResource) -> Any:
        steps = context.get_step_failure_events()
        if steps and all(stopped_by_quality_gate(step) for step in steps):
            return SkipReason(
                f"run {context.dagster_run.run_id} was stopped by the quality gate: "
                "alerted by the quality_alerts sensor"
            )
        outcome = failed_outcome(context)
        if outcome is None:
            return SkipReason(f"run {context.dagster_run.run_id} names no connection")
        sent = _alerter(warehouse, sink).run_failed(outcome)
        context.log.info(f"{len(sent)} alert(s) sent for run {outcome.run_id}")
        return None

    @run_status_sensor(
        run_status=DagsterRunStatus.SUCCESS,
        name=RECOVERY_SENSOR,
        default_status=DefaultSensorStatus.RUNNING,
        description="Closes the incidents a successful run covered, with one recovery message.",
    )
    def recovery_alerts(context: RunStatusSensorContext, warehouse: WarehouseResource) -> Any:
        run = context.dagster_run
        connection = run_connection(run)
        if connection is None:
            return SkipReason(f"run {run.run_id} names no connection")
        kind = run_kind(run)
        outcome = RunOutcome(run.run_id, connection, kind, run_entities(run))
        sent = _alerter(warehouse, sink).run_succeeded(
            outcome, all_entities=kind == "reconcile" or not outcome.entities
        )
        context.log.info(f"{len(sent)} recovery message(s) sent for run {run.run_id}")
        return None

    return [failure_alerts, recovery_alerts]
