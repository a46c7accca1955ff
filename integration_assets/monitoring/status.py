"""The status model: each configured (connection, entity) judged from sync state.

Sources, all in the warehouse:

- `sync_state` (`load/state.py`): the latest run's status and start, the last success with
  its records/s and the newest source timestamp synced, the last error with time and run;
- the writer locks (`load/lock.py`): a load holding one is running whatever the state says;
- the webhook inbox (`load/inbox.py`): events received and not yet taken in by a sync (those
  of topics that concern no entity, such as app or account events, are not counted);
- the cadence (`orchestration/cadence.py`): how old the last success may be.

Status, first match wins:

1. `running`: a load holds the writer lock, or the state says `running` and the run started
   less than `stale_running_after` ago (a process killed without a word leaves its mark
   behind; a cancelled Dagster run is marked failed by the step itself);
2. `failing`: the latest run failed;
3. `late`: the last success is older than the cadence allows, or there was none (a manual
   entity is never late);
4. `ok`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import inspect

from integration_assets.connectors.connections import Connection
from integration_assets.load.inbox import inbox_depth, inbox_table
from integration_assets.load.lock import held_writer_locks
from integration_assets.load.state import (
    STATUS_FAILED,
    STATUS_RUNNING,
    SyncState,
    SyncStateStore,
)
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.cadence import Timeliness

Status = Literal["ok", "running", "failing", "late"]
STATUSES: tuple[Status, ...] = ("ok", "running", "failing", "late")
DEFAULT_STALE_RUNNING_AFTER = timedelta(hours=6)
"""A `running` mark older than this without a held lock is a run that died unrecorded.
Longer than any run that keeps retrying (`retry_budget.worst_case_failing_run_seconds`,
about 3.8 h), shorter than production's 12 h run cap."""


@dataclass(frozen=True)
class EntityStatus:
    """One (connection, entity) as monitoring shows it. Holds no personal data."""

    connection: str
    vendor: str
    entity: str
    cadence: str
    status: Status
    last_success_at: datetime | None
    last_success_run_id: str | None
    last_records: int | None
    records_per_second: float | None
    lag_seconds: float | None
    """Now minus the newest source timestamp synced; None when the entity has no cursor."""
    inbox_depth: int
    last_error: str | None
    last_error_at: datetime | None
    last_error_run_id: str | None
    running_run_id: str | None
    allowance_seconds: float | None
    """How old the last success may be (None: manual, never late)."""

    def to_json(self, now: datetime) -> dict[str, Any]:
        """A JSON-ready dict; times as ISO 8601, with `last_success_age_seconds` from `now`."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        age = (now - self.last_success_at).total_seconds() if self.last_success_at else None
        return {
            "connection": self.connection,
            "vendor": self.vendor,
            "entity": self.entity,
            "cadence": self.cadence,
            "status": self.status,
            "last_success_at": iso(self.last_success_at),
            "last_success_age_seconds": age,
            "last_success_run_id": self.last_success_run_id,
            "last_records": self.last_records,
            "records_per_second": self.records_per_second,
            "lag_seconds": self.lag_seconds,
            "inbox_depth": self.inbox_depth,
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "last_error_run_id": self.last_error_run_id,
            "running_run_id": self.running_run_id,
            "allowance_seconds": self.allowance_seconds,
        }


def pending_inbox(warehouse: Warehouse) -> dict[tuple[str, str | None], int]:
    """`inbox_depth`, or nothing when the inbox was never created (no webhooks yet)."""
    table = inbox_table(warehouse.dialect)
    with warehouse.engine.connect() as conn:
        if not inspect(conn).has_table(table.name, schema=table.schema):
            return {}
    return inbox_depth(warehouse)


def _judge(
    state: SyncState | None, locked: bool, timeliness: Timeliness, stale_after: timedelta
) -> Status:
    if locked:
        return "running"
    if state is not None and state.last_status == STATUS_RUNNING:
        started = state.started_at or state.updated_at
        if timeliness.now - started < stale_after:
            return "running"
    if state is not None and state.last_status == STATUS_FAILED:
        return "failing"
    return "late" if timeliness.late else "ok"


def judge_entity(
    connection: Connection,
    entity: str,
    state: SyncState | None,
    *,
    now: datetime,
    locked: bool = False,
    inbox: int = 0,
    stale_running_after: timedelta = DEFAULT_STALE_RUNNING_AFTER,
) -> EntityStatus:
    """The status of one (connection, entity) from its saved state (None: never ran)."""
    cadence = connection.entities[entity]
    timeliness = Timeliness(
        connection.name, entity, cadence, state.last_synced_at if state else None, now
    )
    status = _judge(state, locked, timeliness, stale_running_after)
    newest = state.newest_source_at if state else None
    allowance = timeliness.allowance
    return EntityStatus(
        connection=connection.name,
        vendor=connection.vendor,
        entity=entity,
        cadence=cadence,
        status=status,
        last_success_at=state.last_synced_at if state else None,
        last_success_run_id=state.last_success_run_id if state else None,
        last_records=state.last_records if state else None,
        records_per_second=state.last_records_per_second if state else None,
        lag_seconds=max((now - newest).total_seconds(), 0.0) if newest else None,
        inbox_depth=inbox,
        last_error=state.last_error if state else None,
        last_error_at=state.last_error_at if state else None,
        last_error_run_id=state.last_error_run_id if state else None,
        running_run_id=state.last_run_id if state and status == "running" else None,
        allowance_seconds=allowance.total_seconds() if allowance else None,
    )


def read_status(
    warehouse: Warehouse,
    connections: Sequence[Connection],
    *,
    now: datetime | None = None,
    stale_running_after: timedelta = DEFAULT_STALE_RUNNING_AFTER,
) -> list[EntityStatus]:
    """Every entity of every connection given, in file order; one read of each source."""
    moment = now or datetime.now(UTC)
    states = {(s.connection, s.entity): s for s in SyncStateStore(warehouse).all()}
    pairs = [(c.name, entity) for c in connections for entity in c.entities]
    locked = held_writer_locks(warehouse, pairs)
    inbox = pending_inbox(warehouse)
    return [
        judge_entity(
            connection,
            entity,
            states.get((connection.name, entity)),
            now=moment,
            locked=(connection.name, entity) in locked,
            inbox=inbox.get((connection.name, entity), 0),
            stale_running_after=stale_running_after,
        )
        for connection in connections
        for entity in connection.entities
    ]
