"""Fixtures of the sync tests: a warehouse on each backend and the sandbox's connections file.

Each test module brings its own `sandbox` (sizes and seed fit its story); these build on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox
from integration_assets_tests.orchestration.harness import write_connections


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Warehouse]:
    """A `Warehouse` on a fresh database of each backend, disposed afterwards."""
    wh = Warehouse.from_url(warehouse_url)
    try:
        yield wh
    finally:
        wh.dispose()


@pytest.fixture
def connections(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test connections file pointing at this module's sandbox, its secrets in the env."""
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", sandbox.shopify.access_token)
    monkeypatch.setenv("IA_TEST_KLAVIYO_KEY", sandbox.klaviyo.api_key)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return write_connections(tmp_path, sandbox)
