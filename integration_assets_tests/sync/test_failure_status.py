"""A failed step marks its run `failed`, and a warehouse that is down meanwhile does not
replace the step's own error with its own: the user sees why the run really failed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from integration_assets.connectors.connections import get_connection
from integration_assets.extract import AuthenticationError, ExtractSettings
from integration_assets.load.state import STATUS_FAILED, SyncStateStore
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.sync import steps
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import MAPPINGS, SHOP, write_connections

SETTINGS = steps.SyncSettings(batch_records=100, extract=ExtractSettings(page_size=100))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=3, sizes={"customers": 300}, rate_limits=False) as running:
        yield running


@pytest.fixture
def target(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> SyncTarget:
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", sandbox.shopify.access_token)
    connections = write_connections(tmp_path, sandbox)
    return SyncTarget(get_connection(SHOP, connections), "customers", MAPPINGS)


def _drop_database(admin_url: str, database_url: str) -> None:
    """The warehouse goes away for good: its backends are terminated, new connects refused."""
    name = make_url(database_url).database
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_failed_extract_marks_the_run_failed(
    target: SyncTarget, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", "wrong-token")
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        with pytest.raises(AuthenticationError):
            steps.run_extract(target, warehouse, run_id="bad-token", settings=SETTINGS)
        state = SyncStateStore(warehouse).get(SHOP, "customers")
    finally:
        warehouse.dispose()
    assert state is not None
    assert (state.last_run_id, state.last_status) == ("bad-token", STATUS_FAILED)


def test_the_extract_error_wins_when_the_warehouse_is_down_too(
    target: SyncTarget,
    postgres_url: str,
    postgres_admin_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", "wrong-token")

    def database_goes_down(_request: httpx.Request) -> None:
        _drop_database(postgres_admin_url, postgres_url)

    client = httpx.Client(event_hooks={"request": [database_goes_down]})
    warehouse = Warehouse.from_url(postgres_url)
    try:
        with (
            caplog.at_level(logging.WARNING, "integration_assets.sync"),
            pytest.raises(AuthenticationError, match="HTTP 401"),
        ):
            steps.run_extract(target, warehouse, run_id="r", settings=SETTINGS, client=client)
    finally:
        client.close()
        warehouse.dispose()
    assert "marking the run failed" in caplog.text
    assert "OperationalError" in caplog.text


def test_the_load_error_wins_when_the_status_cannot_be_recorded(
    target: SyncTarget,
    postgres_url: str,
    postgres_admin_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    warehouse = Warehouse.from_url(postgres_url)
    extracted = steps.run_extract(target, warehouse, run_id="r", settings=SETTINGS)
    real_upsert = steps.upsert_batch
    batches = 0
    armed = False

    def upsert_then_arm(*args: Any, **kwargs: Any) -> Any:
        nonlocal batches, armed
        batches += 1
        armed = batches == 2
        return real_upsert(*args, **kwargs)

    def drop_inside_the_batch(*_args: Any) -> None:
        nonlocal armed
        if armed:
            armed = False
            _drop_database(postgres_admin_url, postgres_url)

    monkeypatch.setattr(steps, "upsert_batch", upsert_then_arm)
    event.listen(Engine, "before_cursor_execute", drop_inside_the_batch)
    try:
        with (
            caplog.at_level(logging.WARNING, "integration_assets.sync"),
            pytest.raises(OperationalError) as raised,
        ):
            steps.run_load(target, warehouse, extracted, run_id="r", settings=SETTINGS)
    finally:
        event.remove(Engine, "before_cursor_execute", drop_inside_the_batch)
        warehouse.dispose()
    # The batch's own error (its backend was terminated), not the status write's
    # ("database … does not exist"), which is only logged.
    assert "terminating connection due to administrator command" in str(raised.value)
    assert "does not exist" not in str(raised.value)
    assert "marking the run failed" in caplog.text
    assert "does not exist" not in caplog.text  # class only: messages may quote data
