"""The webhook sensor: pending inbox events become sync runs in webhook mode.

Every few seconds (`MINIMUM_INTERVAL_SECONDS`) it reads the inbox past its cursor (the last
inbox id handed to a run), groups the events per (connection, entity) (`sync.webhooks.plan_runs`)
and requests one run of the vendor's sync job per group: partition = the connection, asset
selection = the entity, run config = the id range for the extract op (`webhook_first_id`,
`webhook_last_id`), run key `webhooks:<connection>:<entity>:<first>-<last>`, tags
`integration/connection` and `integration/target` as the scheduled runs (so the run queue
lets one run per connection in at a time, polls and webhooks alike) plus
`integration/source=webhook`. A burst of a thousand deliveries is one or a few runs.

Nothing launched twice: run keys are ranges, and the daemon drops a request whose key ran.
Nothing skipped: inbox ids become visible in commit order (`load/inbox.py`), so an id below
the cursor cannot appear after it moved; the cursor only passes ids that are in requested
runs (or that no run can take: see `WebhookPlan.unrouted`).

A run that fails leaves its events pending (they are marked processed only by the load that
wrote them). Each evaluation therefore also looks at pending events *below* the cursor: when
the last webhook run of their (connection, entity) failed and none is queued or running, it
requests a run for them again (up to that run's range end), keyed by the failed run, at most
`MAX_ATTEMPTS` times in a row; after that the events wait for a person (`inbox_depth` counts
them; re-run the failed run from the UI) and the safety-net poll covers their records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from dagster import (
    AssetKey,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from integration_assets.load.inbox import ensure_inbox, pending_events
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.quality_checks import sync_check_keys
from integration_assets.orchestration.resources import WarehouseResource
from integration_assets.orchestration.schedules import (
    TARGET_TAG,
    LoadConnections,
    ensure_partitions,
    run_tags,
)
from integration_assets.sync.webhooks import WebhookGroup, plan_runs

SENSOR_NAME = "webhook_inbox"
MINIMUM_INTERVAL_SECONDS = 5
SOURCE_TAG = "integration/source"
RANGE_TAG = "integration/webhook_range"
ATTEMPT_TAG = "integration/webhook_attempt"
MAX_EVENTS_PER_EVALUATION = 20_000
"""Events read per evaluation; more wait for the next one, a few seconds later."""
MAX_ATTEMPTS = 3
"""Runs of the same pending events in a row before the sensor stops asking (see above)."""

_UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
_GAVE_UP = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def webhook_run_request(
    group: WebhookGroup, *, run_key: str | None = None, attempt: int = 1
) -> RunRequest:
    """The run that loads `group`'s events (see the module docstring)."""
    vendor, entity = group.vendor, group.entity
    extract_config = {"webhook_first_id": group.first_id, "webhook_last_id": group.last_id}
    return RunRequest(
        run_key=run_key or group.run_key,
        job_name=f"{vendor}_sync",
        partition_key=group.connection,
        asset_selection=[AssetKey([vendor, entity])],
        # As the scheduled runs: the load's quality checks, not timeliness (its sensor's).
        asset_check_keys=sync_check_keys([AssetKey([vendor, entity])]),
        run_config={
            "ops": {
                f"{vendor}__{entity}": {
                    "ops": {f"{vendor}_{entity}_extract": {"config": extract_config}}
                }
            }
        },
        tags={
            **run_tags(group.connection, [entity]),
            SOURCE_TAG: "webhook",
            RANGE_TAG: f"{group.first_id}-{group.last_id}",
            ATTEMPT_TAG: str(attempt),
        },
    )


def _target_filter(group: WebhookGroup, statuses: list[DagsterRunStatus] | None) -> RunsFilter:
    tags = {SOURCE_TAG: "webhook", TARGET_TAG: f"{group.connection}/{group.entity}"}
    return RunsFilter(tags=tags, statuses=statuses or [])


def _range_end(run: DagsterRun) -> int:
    return int(run.tags.get(RANGE_TAG, "0-0").rpartition("-")[2] or 0)


def recovery_requests(
    context: SensorEvaluationContext,
    warehouse: Warehouse,
    cursor: int,
    vendors: Mapping[str, str],
) -> list[RunRequest]:
    """Runs again for pending events below the cursor whose last run failed.

    Only a *finished, unsuccessful* webhook run of the (connection, entity), with no other
    queued or running, lets the sensor ask again, and only for events up to the end of that
    run's range: events requested by a run not created yet are not taken twice.
    """
    if cursor <= 0:
        return []
    stale = [
        event
        for event in pending_events(warehouse, 0, limit=MAX_EVENTS_PER_EVALUATION)
        if event.id <= cursor
    ]
    requests = []
    instance = context.instance
    for group in plan_runs(stale, 0, vendors).groups:
        if instance.get_runs_count(_target_filter(group, _UNFINISHED)):
            continue  # a queued or running webhook run of this entity will take them
        latest = instance.get_runs(_target_filter(group, None), limit=1)
        if not latest or latest[0].status not in _GAVE_UP:
            continue
        failed = latest[0]
        end = _range_end(failed)
        if group.first_id > end:
            continue
        attempt = int(failed.tags.get(ATTEMPT_TAG, "1")) + 1
        if attempt > MAX_ATTEMPTS:
            context.log.warning(
                f"webhook events of {group.connection}/{group.entity} (inbox ids "
                f"{group.first_id}-{end}) failed {MAX_ATTEMPTS} runs in a row; not asking "
                "again until a person re-runs them"
            )
            continue
        retry = replace(group, last_id=min(group.last_id, end))
        requests.append(
            webhook_run_request(
                retry, run_key=f"{retry.run_key}:after:{failed.run_id}", attempt=attempt
            )
        )
    return requests


def build_webhook_sensor(
    jobs: Sequence[UnresolvedAssetJobDefinition], load: LoadConnections
) -> SensorDefinition:
    """The sensor over the webhook inbox; `jobs` are the vendors' sync jobs, `load` reads the
    connections file at each evaluation."""

    @sensor(
        name=SENSOR_NAME,
        jobs=list(jobs),
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Turns webhook deliveries stored by `integration-assets serve` into sync runs: one "
            "run per connection and entity for the events that arrived, loading their "
            "payloads through the same mapping and upsert guard as a poll."
        ),
    )
    def webhook_inbox(context: SensorEvaluationContext, warehouse: WarehouseResource):
        connections = load()
        vendors = {connection.name: connection.vendor for connection in connections}
        database = warehouse.get()
        ensure_inbox(database)
        cursor = int(context.cursor or 0)
        requests = recovery_requests(context, database, cursor, vendors)
        plan = plan_runs(
            pending_events(database, cursor, limit=MAX_EVENTS_PER_EVALUATION), cursor, vendors
        )
        for vendor in sorted({group.vendor for group in plan.groups}):
            ensure_partitions(context.instance, vendor, connections)
        requests += [webhook_run_request(group) for group in plan.groups]
        return SensorResult(run_requests=requests, cursor=str(plan.cursor))

    return webhook_inbox
