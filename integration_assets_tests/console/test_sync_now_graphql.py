""" "Sync now" through a real Dagster webserver's GraphQL API: the webserver launches the run
(its own run worker process), the run syncs the sandbox shop, the status page shows it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from dagster import DagsterInstance

from integration_assets.console.triggers import GraphQLLauncher
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.console.monitor_helpers import TOKEN, Console, console_over_sandbox
from integration_assets_tests.monitoring.helpers import SHOP, write_connections
from integration_assets_tests.orchestration.harness import MAPPINGS

DEADLINE_SECONDS = 240
"""Bounds a webserver or run that never comes; both normally take seconds."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes={"customers": 80, "orders": 20, "products": 10}) as running:
        yield running


@pytest.fixture
def webserver(tmp_path: Path, sandbox: Sandbox, sqlite_url: str) -> Iterator[str]:
    """`dagster-webserver` on a temporary instance whose runs start at once (no daemon)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    run_coordinator = {
        "module": "dagster._core.run_coordinator",
        "class": "DefaultRunCoordinator",
    }
    (home / "dagster.yaml").write_text(
        yaml.safe_dump({"telemetry": {"enabled": False}, "run_coordinator": run_coordinator})
    )
    code = tmp_path / "code_location.py"
    code.write_text(
        "from integration_assets.orchestration.definitions_factory import build_definitions\n"
        f"defs = build_definitions(connections_path={str(write_connections(tmp_path, sandbox))!r}, "
        f"mappings_dir={str(MAPPINGS)!r}, warehouse_url={sqlite_url!r})\n"
    )
    (tmp_path / "workspace.yaml").write_text(
        yaml.safe_dump({"load_from": [{"python_file": {"relative_path": code.name}}]})
    )
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "IA_TEST_SHOP_TOKEN": sandbox.shopify.access_token,
    }
    binary = str(Path(sys.executable).with_name("dagster-webserver"))
    with (tmp_path / "webserver.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + DEADLINE_SECONDS
            while True:
                assert process.poll() is None, (tmp_path / "webserver.log").read_text()
                try:
                    if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the webserver did not start"
                time.sleep(0.5)  # no event to wait on: the port opens when it is ready
            yield f"{url}/graphql"
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _sign_in(http: httpx.Client) -> str:
    form = http.get("/login").text
    csrf = re.search(r'name=csrf value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    assert http.post("/login", data={"token": TOKEN, "csrf": csrf}).status_code == 303
    return re.search(r'name=csrf value="([^"]+)"', http.get("/status").text).group(1)  # type: ignore[union-attr]


@pytest.fixture
def console(
    tmp_path: Path,
    sandbox: Sandbox,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Console]:
    url = request.getfixturevalue("webserver") if request.param == "webserver" else request.param
    launcher = GraphQLLauncher(url, timeout_seconds=60)
    with console_over_sandbox(tmp_path, sandbox, sqlite_url, monkeypatch, launcher) as running:
        yield running


@pytest.mark.parametrize("console", ["webserver"], indirect=True)
def test_sync_now_launches_a_run_on_the_webserver(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=90) as http:
        csrf = _sign_in(http)
        http.post(f"/connections/{SHOP}/sync", data={"csrf": csrf})
        flash = http.get("/status").text
        run_id = re.search(r"Run ([0-9a-f-]{36}) of test-shop launched on Dagster", flash)
        assert run_id, flash

        with DagsterInstance.from_config(str(console.dagster_home)) as instance:
            deadline = time.monotonic() + DEADLINE_SECONDS
            run = instance.get_run_by_id(run_id.group(1))
            while run is not None and not run.is_finished and time.monotonic() < deadline:
                time.sleep(0.5)  # the run worker is another process: poll its storage
                run = instance.get_run_by_id(run_id.group(1))
        assert run is not None and run.is_success, run
        assert run.tags["dagster/partition"] == SHOP
        assert run.tags["integration/trigger"] == "console"
        rows = http.get("/status.json").json()["rows"]

    assert {row["entity"]: row["status"] for row in rows} == {
        "customers": "ok",
        "orders": "ok",
        "products": "ok",
    }
    assert {row["last_success_run_id"] for row in rows} == {run.run_id}


@pytest.mark.parametrize("console", ["http://127.0.0.1:9/graphql"], indirect=True)
def test_an_unreachable_webserver_is_said_on_the_page(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=90) as http:
        csrf = _sign_in(http)
        http.post(f"/connections/{SHOP}/sync", data={"csrf": csrf})
        page = http.get("/status").text

    assert (
        "Dagster did not launch the sync: the webserver at http://127.0.0.1:9/graphql is "
        "unreachable" in page
    )
