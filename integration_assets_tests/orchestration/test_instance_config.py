"""The Dagster instance files: run queue limits and run retries as the retry budget says.

Both the local `dagster.yaml` and the production `deploy/dagster.yaml` are loaded with
Dagster's own instance config schema (the production one without connecting to its Postgres).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterInstance, DagsterRun
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.storage.tags import PARTITION_NAME_TAG
from dagster._utils.tags import TagConcurrencyLimitsCounter

from integration_assets.orchestration.schedules import run_tags
from integration_assets.retry_budget import DEFAULT_BUDGET, RUN_MAX_RUNTIME_SECONDS
from integration_assets_tests.orchestration.harness import REPO

ONE_RUN_PER_PARTITION = {
    "key": PARTITION_NAME_TAG,
    "value": {"applyLimitPerUniqueValue": True},
    "limit": 1,
}

ONE_RUN_PER_CONNECTION = {
    "key": "integration/connection",
    "value": {"applyLimitPerUniqueValue": True},
    "limit": 1,
}


def _home(tmp_path: Path, source: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(source, home / "dagster.yaml")
    return home


def _run(partition: str) -> DagsterRun:
    return DagsterRun(job_name="__ASSET_JOB", tags={PARTITION_NAME_TAG: partition})


def _scheduled_run(connection: str, *entities: str) -> DagsterRun:
    """A run as the sync schedule launches it (see orchestration/schedules.py)."""
    return DagsterRun(
        job_name="shopify_sync",
        tags={
            PARTITION_NAME_TAG: connection,
            **run_tags(connection, entities),
        },
    )


def test_local_instance_queues_runs_one_per_partition_and_retries_only_crashes(
    tmp_path: Path,
) -> None:
    home = _home(tmp_path, REPO / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None
        assert ONE_RUN_PER_PARTITION in queue.tag_concurrency_limits
        assert ONE_RUN_PER_CONNECTION in queue.tag_concurrency_limits
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == DEFAULT_BUDGET.run_max_retries
        assert (
            instance.run_retries_retry_on_asset_or_op_failure
            is DEFAULT_BUDGET.run_retry_on_op_failure
            is False
        )

        # The queue daemon's own test: a run of a partition in progress blocks a second run
        # of that partition, not a run of another partition.
        counter = TagConcurrencyLimitsCounter(queue.tag_concurrency_limits, [_run("demo-shop")])
        assert counter.is_blocked(_run("demo-shop"))
        assert not counter.is_blocked(_run("other-shop"))

        # A scheduled run of a connection holds back the next tick's run of it, whatever
        # entities either covers, so no (connection, entity) runs twice at once.
        running = [_scheduled_run("demo-shop", "customers", "orders")]
        counter = TagConcurrencyLimitsCounter(queue.tag_concurrency_limits, running)
        assert counter.is_blocked(_scheduled_run("demo-shop", "orders"))
        assert counter.is_blocked(_run("demo-shop"))
        assert not counter.is_blocked(_scheduled_run("other-shop", "orders"))


def _production_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    for name, value in {
        "DAGSTER_PG_HOST": "db.example.internal",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_DB": "dagster",
        "DAGSTER_PG_USER": "dagster",
        "DAGSTER_PG_PASSWORD": "not-a-real-password",
    }.items():
        monkeypatch.setenv(name, value)
    config, _ = dagster_instance_config(str(_home(tmp_path, REPO / "deploy" / "dagster.yaml")))
    return dict(config)


def test_production_instance_file_is_valid_and_matches_the_local_limits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = _production_config(monkeypatch, tmp_path)

    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert ONE_RUN_PER_PARTITION in limits and ONE_RUN_PER_CONNECTION in limits
    assert config["run_retries"] == {
        "enabled": True,
        "max_retries": DEFAULT_BUDGET.run_max_retries,
        "retry_on_asset_or_op_failure": DEFAULT_BUDGET.run_retry_on_op_failure,
    }
    assert config["run_monitoring"]["max_runtime_seconds"] == RUN_MAX_RUNTIME_SECONDS
    # Credentials are read from the environment, never written in the file.
    text = (REPO / "deploy" / "dagster.yaml").read_text()
    assert "not-a-real-password" not in text
    assert config["storage"]["postgres"]["postgres_db"]["password"] == {
        "env": "DAGSTER_PG_PASSWORD"
    }


def test_production_instance_builds_its_queued_coordinator_and_monitoring(tmp_path: Path) -> None:
    # Everything but the storage, which would connect to Postgres: swapped for SQLite here.
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    config["storage"] = {"sqlite": {"base_dir": str(tmp_path / "storage")}}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and ONE_RUN_PER_PARTITION in queue.tag_concurrency_limits
        assert ONE_RUN_PER_CONNECTION in queue.tag_concurrency_limits
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_runtime_seconds == RUN_MAX_RUNTIME_SECONDS
        assert instance.run_retries_max_retries == DEFAULT_BUDGET.run_max_retries
        assert instance.run_retries_retry_on_asset_or_op_failure is False
