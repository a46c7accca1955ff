"""The cursor rule, scaled down: a walk far longer than the lookback loses no update.

A 5 s lookback and a 2 s clock-skew allowance stand in for the defaults (300 s, 60 s); the
sandbox's clock moves by minutes between pages while the walk runs, so records change on
pages already read and on pages ahead, and Klaviyo events arrive dated in the future and in
the past. The sandbox's rate limits are on. After the next incremental sync the warehouse
must equal the vendor.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integration_assets.connectors.connections import get_connection
from integration_assets.extract import ExtractSettings
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.sync.steps import ExtractResult, SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import (
    CONNECTION_OF,
    MAPPINGS,
    Deployment,
    deploy,
)

LOOKBACK_SECONDS = 5
CLOCK_SKEW_SECONDS = 2


@pytest.fixture
def sandbox() -> Sandbox:
    sizes = {"customers": 300, "profiles": 20, "events": 1000}
    with run_sandbox(seed=11, sizes=sizes, rate_limits=True) as running:
        yield running


def _target(deployment: Deployment, vendor: str, entity: str) -> SyncTarget:
    connection = get_connection(CONNECTION_OF[vendor], deployment.connections_path)
    short = connection.model_copy(
        update={"lookback_seconds": LOOKBACK_SECONDS, "clock_skew_seconds": CLOCK_SKEW_SECONDS}
    )
    return SyncTarget(short, entity, MAPPINGS)


def _sync(
    target: SyncTarget, warehouse_url: str, run_id: str, page_size: int | None, progress=None
) -> ExtractResult:
    settings = SyncSettings(batch_records=100, extract=ExtractSettings(page_size=page_size))
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        extracted = run_extract(
            target, warehouse, run_id=run_id, settings=settings, progress=progress
        )
        run_load(target, warehouse, extracted, run_id=run_id, settings=settings)
    finally:
        warehouse.dispose()
    return extracted


def _clock(simulator: object) -> datetime:
    return datetime.fromtimestamp(simulator.clock, UTC)  # type: ignore[attr-defined]


def test_updates_behind_and_ahead_of_a_long_walk_are_all_synced(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    shop = sandbox.shopify
    target = _target(deployment, "shopify", "customers")
    walk_start = _clock(shop)
    changed: list[int] = []

    def change_while_walking(step: str, page: int, records: int) -> None:
        if step == "extract" and page in (3, 12, 21):
            report = shop.advance(seconds=120, updated_fraction=0.05)
            changed.extend(report.updated["customers"])

    first = _sync(target, warehouse_url, "walk-1", 10, change_while_walking)
    assert first.pages == 30  # 300 customers, 10 a page: a walk of six simulated minutes
    assert len(changed) == 45
    # The walk's start is the vendor's Date (simulated 2024), not this machine's clock.
    assert first.walk_started_at == walk_start.isoformat()
    cap = walk_start - timedelta(seconds=CLOCK_SKEW_SECONDS)
    assert deployment.cursor("shopify", "customers") == cap.isoformat()
    stale = deployment.actual("shopify", "customers") != deployment.expected("shopify", "customers")
    assert stale, "some records changed on pages already read: the first walk missed them"

    second = _sync(target, warehouse_url, "walk-2", 10)
    assert second.since == (cap - timedelta(seconds=LOOKBACK_SECONDS)).isoformat()
    deployment.assert_matches_vendor("shopify", "customers")
    # The newest change (seen this time) is older than this walk's start: no cap needed.
    cursor = datetime.fromisoformat(deployment.cursor("shopify", "customers") or "")
    assert cap < cursor <= _clock(shop) - timedelta(seconds=CLOCK_SKEW_SECONDS)


def test_events_dated_in_the_future_or_the_past_do_not_hide_later_events(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    klaviyo = sandbox.klaviyo
    target = _target(deployment, "klaviyo", "events")
    future = _clock(klaviyo) + timedelta(days=30)
    klaviyo.send_event(int(future.timestamp()))  # a sender with its clock a month ahead
    walk_start = _clock(klaviyo)

    def arrive_while_walking(step: str, page: int, records: int) -> None:
        if step == "extract" and page == 2:
            klaviyo.advance(seconds=120, created={"events": 50})

    # 200 a page (Get Events' default) makes a walk of six pages, so events can arrive mid-walk.
    first = _sync(target, warehouse_url, "events-1", 200, arrive_while_walking)
    assert first.records == 1051
    cursor = deployment.cursor("klaviyo", "events")
    assert cursor == (walk_start - timedelta(seconds=CLOCK_SKEW_SECONDS)).isoformat()

    klaviyo.advance(seconds=60, created={"events": 30})
    # Sent after the walk, dated a moment before it began (a queue drained late).
    klaviyo.send_event(int(walk_start.timestamp()) - 1)
    _sync(target, warehouse_url, "events-2", None)
    deployment.assert_matches_vendor("klaviyo", "events")
