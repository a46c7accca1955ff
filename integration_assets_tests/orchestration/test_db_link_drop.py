"""A dropped database link fails the load op, and its retry finishes the sync exactly.

The loader's backend is found in `pg_stat_activity` by its application name and terminated
in the middle of a load (inside the second batch's transaction, after the first committed),
as a pooler restart or a network cut would. The op fails instead of hanging, the op's
`RetryPolicy` runs the load again from landing, and the warehouse ends equal to the sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from dagster import DagsterEventType, RetryPolicy
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from integration_assets.load.pg_session import APPLICATION_NAME
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.definitions_factory import build_definitions
from integration_assets.sandbox import Sandbox
from integration_assets.sync import steps
from integration_assets_tests.orchestration.harness import MAPPINGS, deploy, fast_settings


class BackendKiller:
    """Terminates the loader's backends from the first statement of the armed batch on."""

    def __init__(self, admin_url: str, database: str) -> None:
        self.admin_url = admin_url
        self.database = database
        self.armed = False
        self.terminated = 0

    def before_execute(self, conn: Any, *_args: Any) -> None:
        if not self.armed or conn.engine.url.database != self.database:
            return
        self.armed = False
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            # timeout: wait until the backend is gone, so the next statement meets a dead link.
            self.terminated = admin.execute(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = %s AND pid <> pg_backend_pid()",
                (APPLICATION_NAME, self.database),
            ).fetchone()[0]


def test_a_terminated_loader_backend_is_retried_to_an_exact_warehouse(
    tmp_path: Path,
    sandbox: Sandbox,
    postgres_url: str,
    postgres_admin_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployment = deploy(tmp_path, sandbox, postgres_url, monkeypatch, fast_settings())
    deployment.defs = build_definitions(
        connections_path=deployment.connections_path,
        mappings_dir=MAPPINGS,
        warehouse_url=postgres_url,
        sync_settings=fast_settings(),
        retry_policy=RetryPolicy(max_retries=1),
    )
    killer = BackendKiller(postgres_admin_url, make_url(postgres_url).database or "")
    real_upsert = steps.upsert_batch
    batches = 0

    def upsert_then_arm(*args: Any, **kwargs: Any) -> Any:
        nonlocal batches
        batches += 1
        killer.armed = batches == 2  # first attempt only: the first batch is committed by now
        return real_upsert(*args, **kwargs)

    monkeypatch.setattr(steps, "upsert_batch", upsert_then_arm)
    event.listen(Engine, "before_cursor_execute", killer.before_execute)
    try:
        result = deployment.sync("shopify", "customers")
    finally:
        event.remove(Engine, "before_cursor_execute", killer.before_execute)

    assert result.success
    assert killer.terminated >= 1, "the loader's backend was never found by its name"
    load_step = "shopify__customers.shopify_customers_load"
    retried = [
        e
        for e in result.all_events
        if e.event_type == DagsterEventType.STEP_RESTARTED and e.step_key == load_step
    ]
    assert retried, "the load op did not fail and retry after its backend was terminated"
    deployment.assert_matches_vendor("shopify", "customers")
    warehouse = Warehouse.from_url(postgres_url)
    try:
        with warehouse.read() as conn:
            rows, distinct = conn.execute(
                text("SELECT count(*), count(DISTINCT id) FROM shopify_customers")
            ).one()
    finally:
        warehouse.dispose()
    assert rows == distinct == len(list(sandbox.shopify.records("customers")))
