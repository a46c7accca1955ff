"""One retry budget: every layer takes its defaults from it, and a failing run is bounded."""

from __future__ import annotations

import math

import yaml

from integration_assets.connectors.connections import Connection
from integration_assets.extract import BackoffPolicy, ExtractSettings
from integration_assets.load.pg_session import postgres_connect_args, statement_timeout_seconds
from integration_assets.orchestration.assets import DEFAULT_RETRY_POLICY
from integration_assets.orchestration.resources import SyncSettingsResource
from integration_assets.retry_budget import (
    DEFAULT_BUDGET,
    FAILING_RUN_CEILING_SECONDS,
    RUN_MAX_RUNTIME_SECONDS,
    RetryBudget,
)
from integration_assets_tests.orchestration.harness import REPO


def test_every_layer_takes_its_defaults_from_the_budget() -> None:
    budget = DEFAULT_BUDGET
    extract = SyncSettingsResource().settings().extract
    assert extract == ExtractSettings()
    assert (extract.max_attempts, extract.backoff_base, extract.backoff_cap) == (
        budget.http_max_attempts,
        budget.http_backoff_base_seconds,
        budget.http_backoff_cap_seconds,
    )
    assert extract.max_retry_after_seconds == budget.http_max_retry_after_seconds
    assert extract.page_deadline_seconds == budget.http_page_deadline_seconds
    assert BackoffPolicy().max_attempts == budget.http_max_attempts
    connection = Connection(name="c", vendor="shopify", entities={"customers": "hourly"})
    assert connection.timeout_seconds == budget.request_timeout_seconds
    assert DEFAULT_RETRY_POLICY.max_retries == budget.op_max_retries
    assert DEFAULT_RETRY_POLICY.delay == budget.op_retry_delay_seconds
    assert postgres_connect_args()["connect_timeout"] == budget.db_connect_timeout_seconds
    assert postgres_connect_args()["tcp_user_timeout"] == budget.db_dead_peer_seconds * 1000
    assert statement_timeout_seconds() == budget.db_statement_timeout_seconds


def test_both_instance_files_retry_runs_as_the_budget_says() -> None:
    for path in (REPO / "dagster.yaml", REPO / "deploy" / "dagster.yaml"):
        retries = yaml.safe_load(path.read_text())["run_retries"]
        assert retries["max_retries"] == DEFAULT_BUDGET.run_max_retries, path
        assert retries["retry_on_asset_or_op_failure"] is DEFAULT_BUDGET.run_retry_on_op_failure


def test_a_failing_run_gives_up_within_the_documented_ceiling() -> None:
    worst = DEFAULT_BUDGET.worst_case_failing_run_seconds()
    assert math.isfinite(worst)
    assert worst == 13_640  # the figure the module docstring states
    assert worst <= FAILING_RUN_CEILING_SECONDS <= RUN_MAX_RUNTIME_SECONDS


def test_the_bound_multiplies_the_layers_instead_of_ignoring_them() -> None:
    # Doubling op retries or run retries must raise the bound: every layer is counted.
    base = DEFAULT_BUDGET.worst_case_failing_run_seconds()
    assert RetryBudget(op_max_retries=6).worst_case_failing_run_seconds() > base
    assert RetryBudget(run_max_retries=2).worst_case_failing_run_seconds() == base * 1.5
    assert RetryBudget(http_page_deadline_seconds=60).worst_case_failing_run_seconds() < base
    assert DEFAULT_BUDGET.op_retry_delays_seconds() == [30.0, 60.0, 120.0]
