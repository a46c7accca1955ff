from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_assets.connectors.connections import Connection
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.monitoring.helpers import connections, write_connections


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes={"customers": 250, "orders": 40, "products": 15}) as running:
        yield running


@pytest.fixture
def shop(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Connection:
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", sandbox.shopify.access_token)
    (connection,) = connections(write_connections(tmp_path, sandbox))
    return connection


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Warehouse]:
    warehouse = Warehouse.from_url(warehouse_url)
    yield warehouse
    warehouse.dispose()
