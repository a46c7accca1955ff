"""End to end, as a user runs it: Dagster materializes the assets, the extract talks real HTTP
to the vendor simulators, the load writes the real warehouse (SQLite and Postgres), and the
warehouse is compared with the vendor's data record by record."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest

from integration_assets.load.landing import LandingStore
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.failures import run_failure_message
from integration_assets.sandbox import Sandbox
from integration_assets.timestamps import parse_instant as parse_timestamp
from integration_assets_tests.orchestration.harness import (
    KLAVIYO,
    SHOP,
    Deployment,
    deploy,
    fast_settings,
)

EVERY_ASSET = [
    ("shopify", "customers"),
    ("shopify", "orders"),
    ("shopify", "products"),
    ("klaviyo", "profiles"),
    ("klaviyo", "events"),
]
LOOKBACK = timedelta(seconds=300)  # the connection default


def test_every_entity_of_both_vendors_lands_equal_to_the_vendor(deployment: Deployment) -> None:
    for vendor, entity in EVERY_ASSET:
        result = deployment.sync(vendor, entity)

        meta = deployment.materialization(result, vendor, entity)
        count = deployment.simulator(vendor).count(entity)
        assert meta["records_fetched"] == count
        assert meta["records_inserted"] == count
        assert meta["dagster/row_count"] == count
        deployment.assert_matches_vendor(vendor, entity)


def test_an_incremental_sync_reads_only_the_changed_window_and_converges(
    deployment: Deployment,
) -> None:
    shop = deployment.sandbox.shopify
    deployment.sync("shopify", "orders")
    cursor = parse_timestamp(deployment.cursor("shopify", "orders"))

    shop.advance(seconds=3600, updated_fraction=0.01, created={"orders": 4})
    window = [
        order
        for order in shop.records("orders")
        if parse_timestamp(order["updated_at"]) >= cursor - LOOKBACK
    ]
    shop.reset_stats()
    meta = deployment.materialization(deployment.sync("shopify", "orders"), "shopify", "orders")

    assert 4 < len(window) < 250
    assert shop.stats().count("orders.json") == math.ceil(len(window) / 250)
    assert meta["records_fetched"] == len(window)
    assert meta["records_inserted"] == 4
    deployment.assert_matches_vendor("shopify", "orders")
    assert parse_timestamp(deployment.cursor("shopify", "orders")) > cursor


def test_running_the_same_sync_twice_changes_nothing(deployment: Deployment) -> None:
    deployment.sync("shopify", "products")
    before = deployment.actual("shopify", "products")

    meta = deployment.materialization(
        deployment.sync("shopify", "products", full_refresh=True), "shopify", "products"
    )

    assert meta["records_fetched"] == deployment.sandbox.shopify.count("products")
    assert (meta["records_inserted"], meta["records_updated"]) == (0, 0)
    assert deployment.actual("shopify", "products") == before


def test_5xx_timeouts_and_rate_limits_are_ridden_out(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_pages = fast_settings(page_size=50)  # more requests, so more faults
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch, settings=small_pages)
    for simulator in (deployment.sandbox.shopify, deployment.sandbox.klaviyo):
        simulator.set_faults(
            error_rate=0.2, timeout_rate=0.05, timeout_seconds=1.5, rate_limits=True
        )

    retries = 0
    for vendor, entity in [
        ("shopify", "customers"),
        ("shopify", "orders"),
        ("klaviyo", "profiles"),
    ]:
        meta = deployment.materialization(deployment.sync(vendor, entity), vendor, entity)
        retries += meta["retries"]
        deployment.assert_matches_vendor(vendor, entity)

    assert retries > 0, "no fault was injected: the test proved nothing"


def test_a_record_served_on_two_pages_is_stored_once(deployment: Deployment) -> None:
    deployment.sandbox.shopify.set_faults(duplicate_across_pages=True)

    meta = deployment.materialization(
        deployment.sync("shopify", "customers"), "shopify", "customers"
    )

    assert meta["records_fetched"] > deployment.sandbox.shopify.count("customers")
    assert meta["dagster/row_count"] == deployment.sandbox.shopify.count("customers")
    deployment.assert_matches_vendor("shopify", "customers")


def test_a_malformed_page_fails_the_run_clearly_and_moves_nothing(deployment: Deployment) -> None:
    shop = deployment.sandbox.shopify
    deployment.sync("shopify", "customers")
    before_rows = deployment.actual("shopify", "customers")
    before_cursor = deployment.cursor("shopify", "customers")

    shop.advance(seconds=3600, updated_fraction=0.01, created={"customers": 3})
    shop.set_faults(malformed_page={"entity": "customers", "page": 1, "mode": "always"})
    result = deployment.sync("shopify", "customers", raise_on_error=False)

    assert not result.success
    message = run_failure_message(result)
    assert message.startswith("MalformedPageError: shopify/customers (connection 'test-shop')")
    assert "page 1" in message and "customers.json" in message
    assert shop.access_token not in message
    assert deployment.cursor("shopify", "customers") == before_cursor
    assert deployment.actual("shopify", "customers") == before_rows

    shop.clear_faults()
    deployment.sync("shopify", "customers")
    deployment.assert_matches_vendor("shopify", "customers")


def test_records_whose_fields_changed_type_are_quarantined_not_lost(
    deployment: Deployment,
) -> None:
    shop = deployment.sandbox.shopify
    shop.set_faults(type_drift=0.03)  # under the 5% the quality gate of customers allows

    meta = deployment.materialization(
        deployment.sync("shopify", "customers"), "shopify", "customers"
    )

    total = shop.count("customers")
    assert 0 < meta["records_quarantined"] < total
    assert meta["records_inserted"] + meta["records_quarantined"] == total

    shop.clear_faults()
    deployment.sync("shopify", "customers", full_refresh=True)
    deployment.assert_matches_vendor("shopify", "customers")


def test_secrets_appear_in_no_event_log_nor_landing(deployment: Deployment) -> None:
    results = [deployment.sync("shopify", "customers"), deployment.sync("klaviyo", "profiles")]
    secrets = (deployment.sandbox.shopify.access_token, deployment.sandbox.klaviyo.api_key)

    for result in results:
        for entry in deployment.instance.all_logs(result.run_id):
            text = repr(entry)
            assert not any(secret in text for secret in secrets)
    landing = LandingStore(Warehouse.from_url(deployment.warehouse_url))
    landed = [(SHOP, "customers"), (KLAVIYO, "profiles")]
    for result, (connection, entity) in zip(results, landed, strict=True):
        urls = [page.url for page in landing.iter_pages(result.run_id, connection, entity)]
        assert urls and all(url and not any(s in url for s in secrets) for url in urls)
