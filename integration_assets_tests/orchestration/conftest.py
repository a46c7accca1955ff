from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.orchestration.harness import Deployment, deploy

SIZES = {"customers": 620, "orders": 300, "products": 70, "profiles": 450, "events": 650}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=11, sizes=SIZES, rate_limits=False) as running:
        yield running


@pytest.fixture
def deployment(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> Deployment:
    return deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
