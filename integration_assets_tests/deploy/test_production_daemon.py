"""The production instance file, for real: `dagster-daemon run` on dagster-postgres storage
(a fresh database on the local Postgres) evaluates the real 15-minute sync schedule, queues
the run, launches it, and the run writes the vendor's rows into the warehouse.

No test-only schedule and no 15-minute wait: the schedule's stored state is started just
before the latest quarter-hour tick, so the daemon's first pass catches that tick up, as it
would after being down for a moment. Bounded at `DEADLINE_SECONDS`; measured at about a
minute on an idle machine.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import ScheduleInstigatorData
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from integration_assets.orchestration.schedules import CONNECTION_TAG
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.orchestration.harness import MAPPINGS, REPO, SHOP, Deployment

DEADLINE_SECONDS = 180
SCHEDULE = "shopify_sync_schedule"
LOCATION = "code_location.py"
CONNECTIONS = """
connections:
  - name: {shop}
    vendor: shopify
    base_url: {url}
    secrets: {{access_token: IA_DAEMON_SHOP_TOKEN}}
    entities: {{customers: 15m}}
    timeout_seconds: 5.0
"""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=7, sizes={"customers": 180}, rate_limits=False) as running:
        yield running


@pytest.fixture
def dagster_storage_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database for Dagster's own storage, dropped afterwards."""
    name = f"ia_dagster_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def home(tmp_path: Path, sandbox: Sandbox, postgres_url: str, dagster_storage_url: str) -> Path:
    """deploy/dagster.yaml with its storage pointed at the fresh database, and a workspace of
    the project's definitions over one sandbox connection and the Postgres warehouse."""
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    config["storage"] = {"postgres": {"postgres_url": dagster_storage_url}}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    connections = tmp_path / "connections.yaml"
    connections.write_text(CONNECTIONS.format(shop=SHOP, url=sandbox.shopify_url))
    (tmp_path / LOCATION).write_text(
        "from integration_assets.orchestration.definitions_factory import build_definitions\n"
        f"defs = build_definitions(connections_path={str(connections)!r}, "
        f"mappings_dir={str(MAPPINGS)!r}, warehouse_url={postgres_url!r})\n"
    )
    workspace = {"load_from": [{"python_file": {"relative_path": LOCATION}}]}
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    return home


def latest_quarter_hour() -> float:
    now = datetime.now(UTC).timestamp()
    return float(math.floor(now / 900) * 900)


def start_schedule_before_the_last_tick(instance: DagsterInstance, workspace: Path) -> None:
    """Start the sync schedule as if the daemon had been running since just before the latest
    quarter-hour tick: its first pass then evaluates that tick."""
    with WorkspaceProcessContext(instance, WorkspaceFileTarget([str(workspace)])) as process:
        context = process.create_request_context()
        (location_name,) = context.code_location_names
        (repository,) = context.get_code_location(location_name).get_repositories().values()
        schedule = repository.get_schedule(SCHEDULE)
        state = instance.start_schedule(schedule)
    data = state.instigator_data
    assert isinstance(data, ScheduleInstigatorData)
    started = ScheduleInstigatorData(data.cron_schedule, start_timestamp=latest_quarter_hour() - 60)
    # A schedule that starts RUNNING by default has no stored state until its first tick.
    if instance.get_instigator_state(state.instigator_origin_id, state.selector_id):
        instance.update_instigator_state(state.with_data(started))
    else:
        instance.add_instigator_state(state.with_data(started))


@pytest.fixture
def daemon(
    home: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[subprocess.Popen[bytes]]:
    monkeypatch.setenv("IA_DAEMON_SHOP_TOKEN", sandbox.shopify.access_token)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("REDIS_URL", raising=False)
    with DagsterInstance.from_config(str(home)) as instance:
        start_schedule_before_the_last_tick(instance, home.parent / "workspace.yaml")
    with (home / "daemon.log").open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
            cwd=home.parent,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server and run workers share its process group
        )
        try:
            yield process
        finally:
            stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the daemon, then whatever it started that outlived it (an orphaned code server
    can linger well past its heartbeat timeout)."""
    group = os.getpgid(process.pid)
    os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait()


def test_the_daemon_on_postgres_storage_runs_a_scheduled_sync_into_the_warehouse(
    home: Path,
    sandbox: Sandbox,
    postgres_url: str,
    daemon: subprocess.Popen[bytes],
) -> None:
    finished = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    deadline = time.monotonic() + DEADLINE_SECONDS
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(RunsFilter(tags={CONNECTION_TAG: SHOP}))
        while not (runs and runs[-1].status in finished) and time.monotonic() < deadline:
            assert daemon.poll() is None, (home / "daemon.log").read_text()[-3000:]
            time.sleep(1)  # polling the daemon's storage: there is no event to wait on
            runs = instance.get_runs(RunsFilter(tags={CONNECTION_TAG: SHOP}))

        assert runs, f"no scheduled run within {DEADLINE_SECONDS} s"
        first = runs[-1]  # newest first
        assert first.status == DagsterRunStatus.SUCCESS, (home / "daemon.log").read_text()[-3000:]
        assert first.job_name == "shopify_sync"
        assert first.tags["integration/target"] == f"{SHOP}/customers"
        assert first.tags["dagster/schedule_name"] == SCHEDULE

    Deployment(
        sandbox, postgres_url, home.parent / "connections.yaml", None, None
    ).assert_matches_vendor(  # type: ignore[arg-type]
        "shopify", "customers"
    )
