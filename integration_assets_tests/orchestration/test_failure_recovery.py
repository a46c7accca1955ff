"""Failure recovery as the issue states it, each claim shown on a real run.

- A load that fails (here: another load of the same connection and entity holds the writer
  lock past the wait) is retried by the op's `RetryPolicy`, from landing: the retry makes
  zero vendor requests, and the warehouse ends equal to the vendor.
- A sync killed between batches leaves the cursor where the last committed *sync* put it
  (batches never move it; only the final batch does), and the next run ends equal to the
  vendor: see also `sync/test_crash_recovery.py` for the kill points inside a load.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, RetryPolicy

from integration_assets.load.lock import writer_lock
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.definitions_factory import build_definitions
from integration_assets.sandbox import Sandbox
from integration_assets_tests.orchestration.harness import (
    MAPPINGS,
    SHOP,
    Deployment,
    deploy,
    fast_settings,
)
from integration_assets_tests.sync.test_crash_recovery import CHILD

LOAD_STEP = "shopify__customers.shopify_customers_load"
EXTRACT_STEP = "shopify__customers.shopify_customers_extract"


class LockHolder:
    """Holds the writer lock of (test-shop, customers), as a concurrent load would, until
    the run's first load attempt has failed waiting for it."""

    def __init__(self, warehouse_url: str) -> None:
        self.warehouse = Warehouse.from_url(warehouse_url)
        self.held = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with writer_lock(self.warehouse, SHOP, "customers", timeout=timedelta(seconds=10)):
            self.held.set()
            self.release.wait(timeout=120)

    def __enter__(self) -> LockHolder:
        self.thread.start()
        assert self.held.wait(timeout=30), "the lock was never taken"
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release.set()
        self.thread.join()
        self.warehouse.dispose()


def watch_for_retry(deployment: Deployment, run_id: str, holder: LockHolder) -> dict[str, int]:
    """In the background: once the load is up for retry, note the vendor's request count and
    let the lock go. Returns the dict the count is written to."""
    seen: dict[str, int] = {}

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not holder.release.is_set():
            retries = deployment.instance.all_logs(
                run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY
            )
            if any(record.step_key == LOAD_STEP for record in retries):
                seen["requests"] = deployment.sandbox.shopify.stats().total
                holder.release.set()
                return
            time.sleep(0.02)  # the event log has no push API for a run in this process

    threading.Thread(target=watch, daemon=True).start()
    return seen


def test_a_failed_load_is_retried_from_landing_without_calling_the_vendor(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    deployment.defs = build_definitions(
        connections_path=deployment.connections_path,
        mappings_dir=MAPPINGS,
        warehouse_url=warehouse_url,
        sync_settings=fast_settings(lock_timeout_seconds=1.0),
        retry_policy=RetryPolicy(max_retries=1, delay=0.2),
    )
    run_id = str(uuid.uuid4())
    with LockHolder(warehouse_url) as holder:
        seen = watch_for_retry(deployment, run_id, holder)
        result = deployment.defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=deployment.instance,
            partition_key=SHOP,
            asset_selection=[AssetKey(["shopify", "customers"])],
            run_id=run_id,
        )

    assert result.success
    events = result.all_events
    failed_attempts = [e for e in events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in failed_attempts] == [LOAD_STEP]
    assert "SyncBusyError" in str(failed_attempts[0].event_specific_data)
    assert [e.step_key for e in events if e.event_type == DagsterEventType.STEP_START].count(
        EXTRACT_STEP
    ) == 1
    assert seen["requests"] > 0  # the extract paged the vendor before the load failed ...
    assert deployment.sandbox.shopify.stats().total == seen["requests"]  # ... the retry did not
    deployment.assert_matches_vendor("shopify", "customers")


def test_a_killed_sync_leaves_the_last_cursor_and_the_next_run_converges(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    deployment.sync("shopify", "customers")
    cursor = deployment.cursor("shopify", "customers")
    assert cursor is not None
    # Enough changes for several batches of the next sync: half the records, 300 new ones.
    deployment.sandbox.shopify.advance(seconds=6 * 3600, updated_fraction=0.5, created=300)

    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(deployment.connections_path),
            str(MAPPINGS),
            warehouse_url,
            "between-batches",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    assert deployment.cursor("shopify", "customers") == cursor  # batches never move it

    deployment.sync("shopify", "customers")
    deployment.assert_matches_vendor("shopify", "customers")
    assert deployment.cursor("shopify", "customers") > cursor
