"""deploy/helm/values.yaml says what both instance files say, and Dagster accepts the instance
the chart renders from it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from dagster import DagsterInstance
from dagster._core.run_coordinator import QueuedRunCoordinator

from integration_assets.retry_budget import DEFAULT_BUDGET, RUN_MAX_RUNTIME_SECONDS

REPO = Path(__file__).resolve().parents[2]


def _yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


VALUES = _yaml(REPO / "deploy" / "helm" / "values.yaml")
LOCAL = _yaml(REPO / "dagster.yaml")
PRODUCTION = _yaml(REPO / "deploy" / "dagster.yaml")


def rendered_instance(values: dict[str, Any]) -> dict[str, Any]:
    """The parts of dagster.yaml the chart renders from these values that concern run limits:
    `concurrency` (its `_concurrency.tpl`: camelCase keys to snake_case), the queued run
    coordinator, and `additionalInstanceConfig` appended as is."""
    concurrency = values["concurrency"]
    runs, pools = concurrency["runs"], concurrency["pools"]
    return {
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": values["dagsterDaemon"]["runCoordinator"]["type"],
        },
        "concurrency": {
            "pools": {"default_limit": pools["defaultLimit"]},
            "runs": {
                "max_concurrent_runs": runs["maxConcurrentRuns"],
                "tag_concurrency_limits": runs["tagConcurrencyLimits"],
            },
        },
        **values["additionalInstanceConfig"],
    }


def test_the_chart_values_hold_the_same_run_limits_as_both_instance_files() -> None:
    runs = VALUES["concurrency"]["runs"]
    assert VALUES["concurrency"]["enabled"] is True
    assert (
        runs["tagConcurrencyLimits"]
        == LOCAL["concurrency"]["runs"]["tag_concurrency_limits"]
        == PRODUCTION["concurrency"]["runs"]["tag_concurrency_limits"]
    )
    assert runs["maxConcurrentRuns"] == PRODUCTION["concurrency"]["runs"]["max_concurrent_runs"]
    assert (
        VALUES["concurrency"]["pools"]["defaultLimit"]
        == LOCAL["concurrency"]["pools"]["default_limit"]
        == PRODUCTION["concurrency"]["pools"]["default_limit"]
    )
    extra = VALUES["additionalInstanceConfig"]
    assert extra["run_retries"] == LOCAL["run_retries"] == PRODUCTION["run_retries"]
    assert extra["run_retries"]["max_retries"] == DEFAULT_BUDGET.run_max_retries
    assert extra["run_monitoring"] == PRODUCTION["run_monitoring"]
    assert extra["run_monitoring"]["max_runtime_seconds"] == RUN_MAX_RUNTIME_SECONDS
    # Set in two places they would conflict (the chart fails; so would Dagster).
    assert VALUES["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"] == {}
    assert VALUES["dagsterDaemon"]["runRetries"]["enabled"] is False


def test_dagster_accepts_the_instance_the_chart_renders(tmp_path: Path) -> None:
    config = rendered_instance(VALUES)
    config["storage"] = {"sqlite": {"base_dir": str(tmp_path / "storage")}}
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None
        assert queue.max_concurrent_runs == 10
        assert len(queue.tag_concurrency_limits) == 2
        assert instance.run_retries_max_retries == DEFAULT_BUDGET.run_max_retries
        assert instance.run_retries_retry_on_asset_or_op_failure is False
        assert instance.run_monitoring_max_runtime_seconds == RUN_MAX_RUNTIME_SECONDS


def test_runs_launch_one_pod_each_from_the_code_location_image_of_this_repo() -> None:
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher"
    assert VALUES["postgresql"]["enabled"] is False  # Dagster's storage is external Postgres
    assert (
        VALUES["postgresql"]["postgresqlParams"]
        == PRODUCTION["storage"]["postgres"]["postgres_db"]["params"]
    )
    (deployment,) = VALUES["dagster-user-deployments"]["deployments"]
    module = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", module]
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert re.search(rf'CMD \[.*"-m", "{re.escape(module)}"\]', dockerfile)
    assert f"EXPOSE {deployment['port']}" in dockerfile
    # No credential is written in the values: secrets come from Kubernetes Secrets.
    assert VALUES["postgresql"]["postgresqlPassword"] == ""
    assert VALUES["generatePostgresqlPasswordSecret"] is False
