"""`integration-assets status` as a user runs it: a real process over a real warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from integration_assets.connectors.connections import Connection
from integration_assets.extract import AuthenticationError
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox
from integration_assets_tests.monitoring.helpers import SHOP, sync, write_connections
from integration_assets_tests.orchestration.harness import MAPPINGS, REPO


def status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "integration_assets.cli", "status", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path, sandbox: Sandbox, warehouse_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WAREHOUSE_URL": warehouse_url,
        "INTEGRATION_CONNECTIONS": str(write_connections(tmp_path, sandbox)),
        "INTEGRATION_MAPPINGS": str(MAPPINGS),
    }


def _line(output: str, entity: str) -> str:
    return next(line for line in output.splitlines() if line.split()[:2] == [SHOP, entity])


def test_a_table_of_every_entity_and_exit_0_when_nothing_fails(
    env: dict[str, str], warehouse: Warehouse, shop: Connection
) -> None:
    sync(shop, "customers", warehouse, "run-1")

    result = status(env)

    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header[:3] == ["connection", "entity", "status"]
    customers = _line(result.stdout, "customers")
    assert "✔ ok" in customers and "s ago" in customers and "/s" in customers
    assert "⚠ late" in _line(result.stdout, "orders")
    assert "never" in _line(result.stdout, "orders")
    assert "2 ok, 1 late" in result.stdout  # products is manual: never late


def test_a_failing_entity_exits_1_with_its_short_redacted_error(
    env: dict[str, str], warehouse: Warehouse, shop: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", "shpat_not_the_right_one")
    with pytest.raises(AuthenticationError):
        sync(shop, "customers", warehouse, "run-bad")

    result = status(env)

    assert result.returncode == 1
    customers = _line(result.stdout, "customers")
    assert "✘ failing" in customers and "AuthenticationError" in customers
    assert "shpat_not_the_right_one" not in result.stdout
    assert "1 failing" in result.stdout


def test_json_for_scripts_and_one_connection_only(
    env: dict[str, str], warehouse: Warehouse, shop: Connection
) -> None:
    sync(shop, "products", warehouse, "run-p")

    result = status(env, "--connection", SHOP, "--json")

    assert result.returncode == 0, result.stderr
    rows = {row["entity"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"customers", "orders", "products"}
    assert rows["products"]["status"] == "ok"
    assert rows["products"]["last_records"] == 15
    assert rows["products"]["last_success_run_id"] == "run-p"


def test_an_unknown_connection_is_a_clear_error(env: dict[str, str]) -> None:
    result = status(env, "--connection", "nope")

    assert result.returncode == 2
    assert "no connection 'nope'" in result.stderr
