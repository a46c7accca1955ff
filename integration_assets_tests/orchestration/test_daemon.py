"""The real `dagster-daemon`, on a temporary instance (SQLite storage, the repository's
`dagster.yaml`): out of the box it adds each connection's partition and records which
connections are late, without a run and without anyone switching a sensor on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from integration_assets_tests.orchestration.harness import MAPPINGS, REPO

DEADLINE_SECONDS = 240
"""The daemon's first ticks come within seconds; this only bounds a daemon that never does."""
CONNECTIONS = """
connections:
  - name: idle-shop
    vendor: shopify
    base_url: http://127.0.0.1:9
    secrets: {access_token: IDLE_SHOP_TOKEN}
    entities: {customers: hourly, orders: manual}
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    (tmp_path / "connections.yaml").write_text(CONNECTIONS)
    (tmp_path / "code_location.py").write_text(
        "from integration_assets.orchestration.definitions_factory import build_definitions\n"
        f"defs = build_definitions(connections_path={str(tmp_path / 'connections.yaml')!r}, "
        f"mappings_dir={str(MAPPINGS)!r}, warehouse_url='sqlite://')\n"
    )
    workspace = {"load_from": [{"python_file": {"relative_path": "code_location.py"}}]}
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    return home


@pytest.fixture
def daemon(home: Path) -> Iterator[subprocess.Popen[bytes]]:
    with (home / "daemon.log").open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
            cwd=home.parent,
            env={**os.environ, "DAGSTER_HOME": str(home)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_daemon_adds_partitions_and_records_the_late_connection(
    home: Path, daemon: subprocess.Popen[bytes]
) -> None:
    check = AssetCheckKey(AssetKey(["shopify", "customers"]), "timeliness")
    deadline = time.monotonic() + DEADLINE_SECONDS
    with DagsterInstance.from_config(str(home)) as instance:

        def seen() -> tuple[list, list[str]]:
            return (
                instance.event_log_storage.get_asset_check_execution_history(check, 1),
                instance.get_dynamic_partitions("shopify_connections"),
            )

        history, partitions = seen()
        while not (history and partitions) and time.monotonic() < deadline:
            assert daemon.poll() is None, "the daemon exited"
            time.sleep(1)  # polling the daemon's storage: there is no event to wait on
            history, partitions = seen()

        assert history, f"no timeliness verdict within {DEADLINE_SECONDS} s"
        assert partitions == ["idle-shop"]
        evaluation = history[0].event.dagster_event.event_specific_data
        assert not evaluation.passed
        assert evaluation.description == "Late: idle-shop: never synced (hourly, allowed 120 min)"
