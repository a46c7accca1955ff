"""The production Dagster stack for the benches: fresh Postgres databases and a real daemon.

Why a module: the webhook latency and many-tenant benches both measure what the daemon adds
(sensor and schedule loops, the QueuedRunCoordinator's limits, one run worker process per
run), so both start the same stack as `integration_assets_tests/deploy/test_production_daemon.py`
does: `deploy/dagster.yaml` with its storage pointed at a fresh dagster-postgres database, a
workspace of the project's definitions over a connections file and a fresh Postgres
warehouse, and `dagster-daemon run` in its own process group.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import yaml
from dagster import DagsterEventType, DagsterInstance, RunsFilter
from dagster._core.scheduler.instigation import ScheduleInstigatorData
from dagster._core.storage.dagster_run import RunRecord
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

REPO = Path(__file__).resolve().parent.parent
MAPPINGS = REPO / "mappings"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
LOCATION = "code_location.py"


@contextlib.contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new database on the bench's Postgres, dropped (forcibly) on the way out."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_home(
    directory: Path, connections_yaml: str, warehouse_url: str, storage_url: str
) -> Path:
    """DAGSTER_HOME with deploy/dagster.yaml (its run limits) on `storage_url`, and beside it
    the workspace over `connections_yaml` and the warehouse. Returns the home."""
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    config["storage"] = {"postgres": {"postgres_url": storage_url}}
    home = directory / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    connections = directory / "connections.yaml"
    connections.write_text(connections_yaml)
    (directory / LOCATION).write_text(
        "from integration_assets.orchestration.definitions_factory import build_definitions\n"
        f"defs = build_definitions(connections_path={str(connections)!r}, "
        f"mappings_dir={str(MAPPINGS)!r}, warehouse_url={warehouse_url!r})\n"
    )
    workspace = {"load_from": [{"python_file": {"relative_path": LOCATION}}]}
    (directory / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    return home


def start_schedule_before_the_last_tick(home: Path, schedule_name: str) -> int:
    """Start a schedule as if the daemon had run since just before the latest quarter hour, so
    its first pass evaluates that tick now instead of in up to 15 minutes. Returns the tick
    (epoch seconds)."""
    with (
        DagsterInstance.from_config(str(home)) as instance,
        WorkspaceProcessContext(
            instance, WorkspaceFileTarget([str(home.parent / "workspace.yaml")])
        ) as process,
    ):
        context = process.create_request_context()
        (location_name,) = context.code_location_names
        (repository,) = context.get_code_location(location_name).get_repositories().values()
        state = instance.start_schedule(repository.get_schedule(schedule_name))
        data = state.instigator_data
        assert isinstance(data, ScheduleInstigatorData)
        tick = math.floor(datetime.now(UTC).timestamp() / 900) * 900
        started = ScheduleInstigatorData(data.cron_schedule, start_timestamp=float(tick - 60))
        if instance.get_instigator_state(state.instigator_origin_id, state.selector_id):
            instance.update_instigator_state(state.with_data(started))
        else:
            instance.add_instigator_state(state.with_data(started))
    return tick


@contextlib.contextmanager
def running_daemon(home: Path, environ: Mapping[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`dagster-daemon run` over the home's workspace; stopped with everything it started."""
    env = {**os.environ, **environ, "DAGSTER_HOME": str(home)}
    env.pop("REDIS_URL", None)
    env.pop("WAREHOUSE_SCHEMA", None)
    with (home / "daemon.log").open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
            cwd=home.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server and run workers share its process group
        )
        try:
            yield process
        finally:
            group = os.getpgid(process.pid)
            os.killpg(group, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            process.wait()


@dataclass(frozen=True)
class RunTiming:
    """One run as the instance recorded it (epoch seconds) and what its loads reported."""

    run_id: str
    status: str
    tags: Mapping[str, str]
    created: float
    started: float
    ended: float
    sync_seconds: float
    """Sum of the load ops' `seconds` metadata: extract plus load, inside the run."""
    records: int
    """Sum of the load ops' `records_fetched`."""

    @property
    def wall(self) -> float:
        return self.ended - self.started


def run_timings(instance: DagsterInstance, filters: RunsFilter | None = None) -> list[RunTiming]:
    """Every finished run matching `filters`, oldest first, with its loads' metadata."""
    records: list[RunRecord] = instance.get_run_records(filters=filters)
    timings = []
    for record in reversed(records):
        if record.end_time is None or record.start_time is None:
            continue
        sync_seconds, fetched = 0.0, 0
        for entry in instance.all_logs(
            record.dagster_run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ):
            event = entry.dagster_event
            assert event is not None
            metadata: Mapping[str, Any] = event.event_specific_data.materialization.metadata  # type: ignore[union-attr]
            if "seconds" in metadata:
                sync_seconds += float(metadata["seconds"].value)
                fetched += int(metadata["records_fetched"].value)
        timings.append(
            RunTiming(
                run_id=record.dagster_run.run_id,
                status=record.dagster_run.status.value,
                tags=record.dagster_run.tags,
                created=record.create_timestamp.timestamp(),
                started=record.start_time,
                ended=record.end_time,
                sync_seconds=sync_seconds,
                records=fetched,
            )
        )
    return timings


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of (start, end) intervals open at one moment (an end before a start
    at the same instant: back-to-back runs were never both running)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (`fraction` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
