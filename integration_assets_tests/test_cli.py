"""The command line, run as a user runs it: a real process against the sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from integration_assets.mapping.apis import default_api
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.orchestration.harness import MAPPINGS, REPO, write_connections


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=9, sizes={"customers": 400}, rate_limits=False) as running:
        yield running


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "integration_assets.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def env(tmp_path: Path, sandbox: Sandbox, sqlite_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "WAREHOUSE_URL": sqlite_url,
        "INTEGRATION_CONNECTIONS": str(write_connections(tmp_path, sandbox)),
        "INTEGRATION_MAPPINGS": str(MAPPINGS),
        "IA_TEST_SHOP_TOKEN": sandbox.shopify.access_token,
        "IA_TEST_KLAVIYO_KEY": sandbox.klaviyo.api_key,
    }


def test_sync_materializes_the_partition_and_prints_a_summary(env: dict[str, str]) -> None:
    result = cli(["sync", "shopify/customers", "--connection", "test-shop"], env)

    assert result.returncode == 0, result.stderr
    assert "✔ shopify/customers @ test-shop" in result.stdout
    assert "400 records in 2 pages" in result.stdout
    assert "400 inserted" in result.stdout
    # Quiet by default: progress, summary, warnings and errors, not Dagster's event log.
    assert "STEP_START" not in result.stdout + result.stderr
    assert " - DEBUG - " not in result.stdout + result.stderr
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        (run,) = instance.get_runs()
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == "test-shop"


def test_a_sync_that_fails_exits_non_zero_with_the_reason_and_no_secret(
    env: dict[str, str],
) -> None:
    env = {**env, "IA_TEST_SHOP_TOKEN": "shpat_wrong_token_value"}

    result = cli(["sync", "shopify/customers", "--connection", "test-shop"], env)

    assert result.returncode == 1
    assert "✘ shopify/customers @ test-shop: AuthenticationError" in result.stdout
    assert "IA_TEST_SHOP_TOKEN" in result.stdout
    assert "shpat_wrong_token_value" not in result.stdout + result.stderr


def test_naming_an_entity_the_connection_does_not_sync_is_refused(env: dict[str, str]) -> None:
    result = cli(["sync", "shopify/refunds", "--connection", "test-shop"], env)

    assert result.returncode != 0
    assert "does not sync shopify/refunds" in result.stderr


def test_validate_mappings_lists_every_entity_and_its_tables(env: dict[str, str]) -> None:
    result = cli(["validate-mappings"], env)

    assert result.returncode == 0, result.stdout
    for api in ("graphql", "rest"):  # every API's mapping of a vendor that has several
        assert f"✔ shopify/orders ({api}) → shopify_orders, shopify_order_line_items" in (
            result.stdout
        )
    assert "✔ klaviyo/events → klaviyo_events" in result.stdout


def test_sync_verbose_prints_the_event_log(env: dict[str, str]) -> None:
    result = cli(["sync", "shopify/customers", "--connection", "test-shop", "--verbose"], env)

    assert result.returncode == 0, result.stderr
    assert "✔ shopify/customers @ test-shop" in result.stdout
    assert "STEP_START" in result.stdout + result.stderr
    assert " - DEBUG - " in result.stdout + result.stderr


def test_validate_mappings_refuses_an_override_that_retypes_a_shared_column(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Every connection of a vendor shares the table: an override may not change a column's
    type; the message names both files and the column."""
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    override = mappings / "overrides" / "some-shop" / "orders.json"
    override.parent.mkdir(parents=True)
    override.write_text(json.dumps({"mappings": [{"target": "total_tax", "type": "float"}]}))

    result = cli(["validate-mappings"], {**env, "INTEGRATION_MAPPINGS": str(mappings)})

    assert result.returncode == 1
    assert str(override) in result.stdout
    assert str(mappings / "shopify" / str(default_api("shopify")) / "orders.json") in result.stdout
    assert "'total_tax'" in result.stdout
    assert "✔ klaviyo/profiles → klaviyo_profiles" in result.stdout


def test_validate_mappings_refuses_api_mappings_that_describe_different_tables(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A connection may switch API at any time, so the GraphQL and REST mappings of an entity
    must describe the same tables; the message names both files and the column."""
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    graphql = mappings / "shopify" / "graphql" / "orders.json"
    spec = json.loads(graphql.read_text())
    for field in spec["mappings"]:
        if field.get("target") == "total_tax":
            field["type"] = "float"
    graphql.write_text(json.dumps(spec))

    result = cli(["validate-mappings"], {**env, "INTEGRATION_MAPPINGS": str(mappings)})

    assert result.returncode == 1
    assert "✘ shopify/orders (API mappings and overrides together)" in result.stdout
    assert str(graphql) in result.stdout
    assert str(mappings / "shopify" / "rest" / "orders.json") in result.stdout
    assert "column 'total_tax' is" in result.stdout
    assert "float NULL" in result.stdout and "decimal NULL" in result.stdout


def test_validate_mappings_refuses_an_override_written_for_another_api_than_its_connection(
    env: dict[str, str], tmp_path: Path
) -> None:
    """test-shop syncs over REST; an override that says it is for GraphQL reads GraphQL field
    names, so it is refused for that connection, naming the file and both APIs."""
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    override = mappings / "overrides" / "test-shop" / "customers.json"
    override.parent.mkdir(parents=True)
    override.write_text(
        json.dumps(
            {
                "api": "graphql",
                "mappings": [{"source": "locale", "target": "locale", "type": "string"}],
            }
        )
    )

    result = cli(["validate-mappings"], {**env, "INTEGRATION_MAPPINGS": str(mappings)})

    assert result.returncode == 1
    assert f"✘ shopify/customers (test-shop): {override}" in result.stdout
    assert (
        "this override is for the 'graphql' API of shopify, but connection 'test-shop' uses the 'rest' API"
        in result.stdout
    )
