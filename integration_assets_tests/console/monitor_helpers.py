"""A console with its pages on, over a sandbox shop and a real warehouse, for the status
page's tests (HTTP and browser)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from integration_assets.connectors.connections import Connection
from integration_assets.console import ConsoleSettings, build_app
from integration_assets.console.server import ConsoleServer
from integration_assets.console.triggers import InProcessLauncher, Launcher
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox
from integration_assets_tests.monitoring.helpers import connections, write_connections
from integration_assets_tests.orchestration.harness import MAPPINGS

TOKEN = "console-token-for-tests-0123"
CONSOLE_ENV = {"INTEGRATION_CONSOLE_TOKEN": TOKEN, "INTEGRATION_CONSOLE_SESSION_SECRET": "s" * 32}


@dataclass
class Console:
    url: str
    warehouse: Warehouse
    shop: Connection
    dagster_home: Path
    launcher: Launcher


@contextmanager
def console_over_sandbox(
    tmp_path: Path,
    sandbox: Sandbox,
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
    launcher: Launcher | None = None,
) -> Iterator[Console]:
    """The console on a free port; the environment a `serve` next to `dagster dev` has, so
    "sync now" in-process builds the same definitions and records runs in `dagster_home`."""
    path = write_connections(tmp_path, sandbox)
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)  # a webserver's test made it already: the console shares it
    for name, value in {
        "IA_TEST_SHOP_TOKEN": sandbox.shopify.access_token,
        "INTEGRATION_CONNECTIONS": str(path),
        "INTEGRATION_MAPPINGS": str(MAPPINGS),
        "WAREHOUSE_URL": warehouse_url,
        "DAGSTER_HOME": str(home),
    }.items():
        monkeypatch.setenv(name, value)
    (shop,) = connections(path)
    warehouse = Warehouse.from_url(warehouse_url)
    chosen = launcher or InProcessLauncher()
    app = build_app(
        warehouse,
        [shop],
        ConsoleSettings(status_refresh_seconds=1),
        environ=CONSOLE_ENV,
        launcher=chosen,
    )
    try:
        with ConsoleServer(app) as server:
            yield Console(server.url, warehouse, shop, home, chosen)
    finally:
        warehouse.dispose()
