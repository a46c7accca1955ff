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

**Latency.** The issue's target is seconds from delivery to row, and what costs them is the
run, not the sensor. So: webhook runs use the in-process executor (`IN_PROCESS`: one run
worker process instead of one more per step, each importing Dagster and the code location);
the sensor asks to be evaluated at every pass of the daemon's sensor loop
(`MINIMUM_INTERVAL_SECONDS` = 1; the loop itself waits 5 s between passes, so a smaller value
only stops an evaluation from being skipped to the next pass); and a (connection, entity)
never has more than one webhook run *waiting*: while one is queued or not started, new events
are **held** (their first and last inbox ids kept in the cursor, which passes them) and
requested in one run, over the widened range, at the first evaluation that finds none
waiting. Runs of one connection go one at a time (the run queue's limit), so without the hold
every evaluation added a run behind the others and each change waited for all of them.

The cursor is JSON (`SensorCursor`): `after` (the last inbox id handed to a run or held),
`held` (per connection and entity, the range waiting) and `pruned_at`. A plain integer (the
older format) reads as `after`.

**Pruning.** At most once an hour (`PRUNE_EVERY`), the sensor deletes inbox events processed
more than `sync_settings.inbox_retention_days` ago (`load.inbox.prune_processed`): their
bodies hold personal data and the warehouse has their rows. Pending events are never pruned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

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

from integration_assets.load.inbox import ensure_inbox, pending_events, prune_processed
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.quality_checks import sync_check_keys
from integration_assets.orchestration.resources import SyncSettingsResource, WarehouseResource
from integration_assets.orchestration.schedules import (
    TARGET_TAG,
    LoadConnections,
    ensure_partitions,
    run_tags,
)
from integration_assets.sync.webhooks import WebhookGroup, plan_runs

SENSOR_NAME = "webhook_inbox"
MINIMUM_INTERVAL_SECONDS = 1
"""At every pass of the daemon's sensor loop (which waits 5 s between passes itself)."""
SOURCE_TAG = "integration/source"
RANGE_TAG = "integration/webhook_range"
ATTEMPT_TAG = "integration/webhook_attempt"
MAX_EVENTS_PER_EVALUATION = 20_000
"""Events read per evaluation; more wait for the next one, a few seconds later."""
MAX_ATTEMPTS = 3
"""Runs of the same pending events in a row before the sensor stops asking (see above)."""
PRUNE_EVERY = timedelta(hours=1)
"""How often the sensor prunes processed inbox events (see the module docstring)."""
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
"""Run config choosing the in-process mode of the jobs' default executor
(`multi_or_in_process_executor`): a webhook run is one asset, its steps run in sequence
anyway, and each extra step process costs seconds of imports."""

_UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
_GAVE_UP = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
_WAITING = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED]


@dataclass(frozen=True)
class SensorCursor:
    """What the sensor remembers between evaluations (see the module docstring)."""

    after: int = 0
    held: Mapping[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)
    """(connection, entity) -> (first id, last id, events) of the events waiting for the
    group's queued run to start."""
    pruned_at: datetime | None = None

    @staticmethod
    def parse(text: str | None) -> SensorCursor:
        if not text:
            return SensorCursor()
        if text.strip().isdigit():
            return SensorCursor(after=int(text))
        data = json.loads(text)
        held = {
            (connection, entity): (int(first), int(last), int(events))
            for connection, entity, first, last, events in data.get("held", [])
        }
        pruned = data.get("pruned_at")
        return SensorCursor(
            after=int(data.get("after", 0)),
            held=held,
            pruned_at=datetime.fromisoformat(pruned) if pruned else None,
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "after": self.after,
                "held": [[*key, *value] for key, value in sorted(self.held.items())],
                "pruned_at": self.pruned_at.isoformat() if self.pruned_at else None,
            }
        )


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
            **IN_PROCESS,
            "ops": {
                f"{vendor}__{entity}": {
                    "ops": {f"{vendor}_{entity}_extract": {"config": extract_config}}
                }
            },
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


def merge_held(
    groups: Sequence[WebhookGroup],
    held: Mapping[tuple[str, str], tuple[int, int, int]],
    vendors: Mapping[str, str],
) -> list[WebhookGroup]:
    """The planned groups with each held range joined to the first group of its (connection,
    entity), or standing alone when no new event came; a held range of a connection no longer
    in the file is dropped (its events are unrouted, as `plan_runs` says)."""
    waiting = dict(held)
    merged = []
    for group in groups:
        key = (group.connection, group.entity)
        if key in waiting:
            first, _, events = waiting.pop(key)
            group = replace(group, first_id=first, events=group.events + events)
        merged.append(group)
    for (connection, entity), (first, last, events) in waiting.items():
        vendor = vendors.get(connection)
        if vendor is not None:
            merged.append(WebhookGroup(connection, vendor, entity, first, last, events))
    return sorted(merged, key=lambda group: group.first_id)


def hold(
    held: dict[tuple[str, str], tuple[int, int, int]], group: WebhookGroup
) -> dict[tuple[str, str], tuple[int, int, int]]:
    """`held` with `group`'s range added (widening what its (connection, entity) holds)."""
    key = (group.connection, group.entity)
    first, last, events = held.get(key, (group.first_id, group.last_id, 0))
    held[key] = (min(first, group.first_id), max(last, group.last_id), events + group.events)
    return held


def _waiting(context: SensorEvaluationContext, group: WebhookGroup) -> bool:
    """Whether a webhook run of the group's (connection, entity) is queued, not started yet."""
    return context.instance.get_runs_count(_target_filter(group, _WAITING)) > 0


def _target_of(request: RunRequest) -> tuple[str, str]:
    connection, _, entity = request.tags[TARGET_TAG].rpartition("/")
    return connection, entity


def prune_when_due(
    context: SensorEvaluationContext,
    warehouse: Warehouse,
    retention: timedelta,
    pruned_at: datetime | None,
    now: datetime,
) -> datetime | None:
    """Prune processed inbox events at most every `PRUNE_EVERY`; returns when it last did."""
    if pruned_at is not None and now - pruned_at < PRUNE_EVERY:
        return pruned_at
    deleted = prune_processed(warehouse, retention, now=now)
    if deleted:
        context.log.info(
            f"pruned {deleted} webhook inbox events processed before {now - retention}"
        )
    return now


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
            "payloads through the same mapping and upsert guard as a poll; prunes processed "
            "inbox events hourly."
        ),
    )
    def webhook_inbox(
        context: SensorEvaluationContext,
        warehouse: WarehouseResource,
        sync_settings: SyncSettingsResource,
    ):
        connections = load()
        vendors = {connection.name: connection.vendor for connection in connections}
        database = warehouse.get()
        ensure_inbox(database)
        state = SensorCursor.parse(context.cursor)
        requests = recovery_requests(context, database, state.after, vendors)
        retrying = {_target_of(request) for request in requests}
        plan = plan_runs(
            pending_events(database, state.after, limit=MAX_EVENTS_PER_EVALUATION),
            state.after,
            vendors,
        )
        held: dict[tuple[str, str], tuple[int, int, int]] = {}
        ready = []
        for group in merge_held(plan.groups, state.held, vendors):
            if (group.connection, group.entity) in retrying or _waiting(context, group):
                hold(held, group)  # one run waiting per entity is enough: widen the next
            else:
                ready.append(group)
        for vendor in sorted({group.vendor for group in ready}):
            ensure_partitions(context.instance, vendor, connections)
        requests += [webhook_run_request(group) for group in ready]
        retention = timedelta(days=sync_settings.inbox_retention_days)
        pruned_at = prune_when_due(context, database, retention, state.pruned_at, datetime.now(UTC))
        cursor = SensorCursor(after=plan.cursor, held=held, pruned_at=pruned_at)
        return SensorResult(run_requests=requests, cursor=cursor.dump())

    return webhook_inbox
