"""A retried extract goes on after the pages its run landed instead of walking from page 1.

The fault: page 12 of a 30-page walk comes back truncated on every try, so the extract fails
after landing pages 1-11. Once the fault clears, a retry of the same run asks the vendor only
for pages 12-30 (the sandbox's request log shows it) and the load ends equal to the vendor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import RetryPolicy
from sqlalchemy import inspect, text

from integration_assets.connectors.connections import get_connection
from integration_assets.extract import ExtractSettings, MalformedPageError
from integration_assets.load.bookkeeping import bookkeeping, ensure_bookkeeping
from integration_assets.load.landing import LandingStore
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.definitions_factory import build_definitions
from integration_assets.sandbox import RequestStats, Sandbox, ShopifySimulator, run_sandbox
from integration_assets.sync.steps import SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import (
    MAPPINGS,
    SHOP,
    deploy,
    fast_settings,
)

FAILING_PAGE = 12
SETTINGS = SyncSettings(
    batch_records=100,
    extract=ExtractSettings(page_size=10, max_attempts=3, backoff_base=0.01, backoff_cap=0.02),
)


@pytest.fixture
def sandbox() -> Sandbox:
    with run_sandbox(seed=3, sizes={"customers": 300}, rate_limits=True) as running:
        yield running


def _pages_served(shop: ShopifySimulator, stats: RequestStats) -> list[int]:
    """The walk's page number of every customers page served (page 1 has no page_info)."""
    pages = []
    for request in stats.requests:
        if request.path.endswith("customers.json") and request.status == 200:
            token = request.params.get("page_info")
            pages.append(shop.codec.decode(token)["p"] if token else 1)
    return pages


def test_a_retried_extract_resumes_after_its_landed_pages(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    shop = sandbox.shopify
    target = SyncTarget(get_connection(SHOP, deployment.connections_path), "customers", MAPPINGS)
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        shop.set_faults(
            malformed_page={"entity": "customers", "page": FAILING_PAGE, "mode": "always"}
        )
        with pytest.raises(MalformedPageError):
            run_extract(target, warehouse, run_id="backfill", settings=SETTINGS)
        # Pages 1-11, then page 12 truncated (still HTTP 200) on each of its three tries.
        served = _pages_served(shop, shop.stats())
        assert served == [*range(1, FAILING_PAGE), *[FAILING_PAGE] * 3]
        landing = LandingStore(warehouse)
        assert landing.page_count("backfill", SHOP, "customers") == FAILING_PAGE - 1

        shop.clear_faults()
        shop.reset_stats()
        extracted = run_extract(target, warehouse, run_id="backfill", settings=SETTINGS)
        assert _pages_served(shop, shop.stats()) == list(range(FAILING_PAGE, 31))
        assert extracted.resumed_pages == FAILING_PAGE - 1
        assert (extracted.pages, extracted.records) == (30, 300)
        assert extracted.requests == 30 - FAILING_PAGE + 1

        loaded = run_load(target, warehouse, extracted, run_id="backfill", settings=SETTINGS)
        assert loaded.records == 300

        # A retry after the walk's last page was landed fetches nothing at all.
        shop.reset_stats()
        again = run_extract(target, warehouse, run_id="backfill", settings=SETTINGS)
        assert shop.stats().total == 0
        assert (again.pages, again.records, again.requests) == (30, 300, 0)
        assert again.walk_started_at == extracted.walk_started_at
    finally:
        warehouse.dispose()
    deployment.assert_matches_vendor("shopify", "customers")


@pytest.mark.parametrize(
    "next_url",
    [None, "http://elsewhere.example/admin/api/2024-10/customers.json?page_info=x"],
    ids=["landed-by-the-previous-version", "another-host"],
)
def test_pages_landed_without_a_usable_resume_point_are_walked_again(
    next_url: str | None,
    tmp_path: Path,
    sandbox: Sandbox,
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No next_url (the previous version's pages), or one naming another host: start afresh."""
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    shop = sandbox.shopify
    target = SyncTarget(get_connection(SHOP, deployment.connections_path), "customers", MAPPINGS)
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        LandingStore(warehouse).write_page(
            "old-run",
            SHOP,
            "customers",
            1,
            None,
            b'{"customers": []}',
            0,
            next_url=next_url,
            walk_started_at=datetime.now(UTC),
        )
        extracted = run_extract(target, warehouse, run_id="old-run", settings=SETTINGS)
        assert extracted.resumed_pages == 0
        assert _pages_served(shop, shop.stats()) == list(range(1, 31))
        run_load(target, warehouse, extracted, run_id="old-run", settings=SETTINGS)
    finally:
        warehouse.dispose()
    deployment.assert_matches_vendor("shopify", "customers")


def test_a_landing_table_made_by_the_previous_version_gains_the_resume_columns(
    warehouse_url: str,
) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        table = bookkeeping(warehouse.dialect).landing_pages
        ensure_bookkeeping(warehouse)
        with warehouse.begin() as conn:
            preparer = conn.dialect.identifier_preparer
            for column in ("next_url", "walk_started_at"):
                conn.execute(
                    text(f"ALTER TABLE {preparer.format_table(table)} DROP COLUMN {column}")
                )
        LandingStore(warehouse)  # nothing cached: a new process would start like this
        warehouse.bookkeeping_ready = False
        ensure_bookkeeping(warehouse)
        ensure_bookkeeping(warehouse)  # idempotent
        with warehouse.engine.connect() as conn:
            names = {c["name"] for c in inspect(conn).get_columns(table.name, table.schema)}
        assert {"next_url", "walk_started_at"} <= names
        store = LandingStore(warehouse)
        store.write_page("r", "c", "e", 1, None, b"{}", 0, next_url="")
        point = store.resume_point("r", "c", "e")
        assert point is not None and point.next_url == "" and point.last_page == 1
    finally:
        warehouse.dispose()


def test_a_dagster_retry_of_the_extract_op_resumes(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with run_sandbox(seed=3, sizes={"customers": 300}, rate_limits=False) as sandbox:
        deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
        # One attempt per request: the truncated page fails the op, and Dagster retries it.
        settings = fast_settings(page_size=10, max_attempts=1)
        deployment.defs = build_definitions(
            connections_path=deployment.connections_path,
            mappings_dir=MAPPINGS,
            warehouse_url=warehouse_url,
            sync_settings=settings,
            retry_policy=RetryPolicy(max_retries=1),
        )
        shop = sandbox.shopify
        shop.set_faults(malformed_page={"entity": "customers", "page": FAILING_PAGE})
        result = deployment.sync("shopify", "customers")
        assert result.success
        # Page 12 truncated once (attempt 1 fails), then the retry asks from page 12 on.
        served = _pages_served(shop, shop.stats())
        assert served == [*range(1, FAILING_PAGE + 1), *range(FAILING_PAGE, 31)]
        metadata = deployment.materialization(result, "shopify", "customers")
        assert metadata["pages"] == 30 and metadata["records_fetched"] == 300
        deployment.assert_matches_vendor("shopify", "customers")
