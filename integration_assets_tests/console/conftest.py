"""A running console per test, on SQLite and on Postgres; headless Chromium for the page
tests (`chromium.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from integration_assets.console.server import ConsoleServer
from integration_assets.load.warehouse import Warehouse
from integration_assets_tests.console.chromium import browser  # noqa: F401 (a fixture)
from integration_assets_tests.console.helpers import running_console


@pytest.fixture
def console(warehouse_url: str) -> Iterator[tuple[ConsoleServer, Warehouse]]:
    with running_console(warehouse_url) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http
