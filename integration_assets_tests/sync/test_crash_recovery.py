"""A sync process killed in the middle of a load (SIGKILL: no cleanup, no except blocks)
leaves either the old state or whole batches with the cursor unmoved; the next run ends equal
to the vendor, without duplicates."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from integration_assets.connectors.connections import get_connection
from integration_assets.extract import ExtractSettings
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.sync.steps import SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import MAPPINGS, SHOP, deploy

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path

    import integration_assets.load.upsert as upsert_module
    import integration_assets.sync.steps as steps
    from integration_assets.extract import ExtractSettings
    from integration_assets.connectors.connections import get_connection
    from integration_assets.load.warehouse import Warehouse
    from integration_assets.sync.target import SyncTarget

    connections, mappings, warehouse_url, kill_point = sys.argv[1:5]
    target = SyncTarget(get_connection("test-shop", connections), "customers", Path(mappings))
    warehouse = Warehouse.from_url(warehouse_url)
    settings = steps.SyncSettings(batch_records=100, extract=ExtractSettings(page_size=100))

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    committed = 0
    real_upsert = steps.upsert_batch

    def upsert_then_maybe_die(*args, **kwargs):
        global committed
        result = real_upsert(*args, **kwargs)
        committed += 1
        if kill_point == "between-batches" and committed == 3:
            die()
        return result

    real_save = upsert_module.SyncStateStore.save

    def save_then_die(self, *args, **kwargs):
        real_save(self, *args, **kwargs)
        die()  # inside the final batch's transaction: rows and cursor written, not committed

    steps.upsert_batch = upsert_then_maybe_die
    if kill_point == "before-final-commit":
        upsert_module.SyncStateStore.save = save_then_die
    extracted = steps.run_extract(target, warehouse, run_id="crashing-run", settings=settings)
    steps.run_load(target, warehouse, extracted, run_id="crashing-run", settings=settings)
    print("finished without being killed")
    """
)


@pytest.fixture
def sandbox() -> Sandbox:
    with run_sandbox(seed=5, sizes={"customers": 1000}, rate_limits=False) as running:
        yield running


@pytest.mark.parametrize("kill_point", ["between-batches", "before-final-commit"])
def test_a_load_killed_midway_loses_nothing_and_the_rerun_converges(
    kill_point: str,
    tmp_path: Path,
    sandbox: Sandbox,
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(deployment.connections_path),
            str(MAPPINGS),
            warehouse_url,
            kill_point,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr

    rows_after_crash = deployment.actual("shopify", "customers")["shopify_customers"]
    expected = deployment.expected("shopify", "customers")["shopify_customers"]
    batches_kept = 3 if kill_point == "between-batches" else 9  # 1,000 records, 100 a batch
    assert len(rows_after_crash) == batches_kept * 100  # whole batches, never a part of one
    assert all(rows_after_crash[key] == expected[key] for key in rows_after_crash)
    assert deployment.cursor("shopify", "customers") is None

    target = SyncTarget(get_connection(SHOP, deployment.connections_path), "customers", MAPPINGS)
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        settings = SyncSettings(batch_records=100, extract=ExtractSettings(page_size=100))
        extracted = run_extract(target, warehouse, run_id="rerun", settings=settings)
        loaded = run_load(target, warehouse, extracted, run_id="rerun", settings=settings)
    finally:
        warehouse.dispose()

    assert loaded.upsert["shopify_customers"].inserted == 1000 - batches_kept * 100
    assert loaded.upsert["shopify_customers"].unchanged == batches_kept * 100
    deployment.assert_matches_vendor("shopify", "customers")
    assert deployment.cursor("shopify", "customers") is not None
