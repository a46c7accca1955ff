"""API version warnings reach the run's Dagster metadata, where whoever watches the asset
sees them: the vendor flagging deprecated use, a version the vendor no longer serves as asked,
and the version's own end of support."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from integration_assets.sandbox import Sandbox
from integration_assets_tests.orchestration.harness import SHOP, Deployment, deploy, fast_settings

REASON = "https://shopify.dev/changelog/customer-fields-deprecated"
TODAY = date(2026, 11, 30)


@pytest.fixture
def deployment(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> Deployment:
    """Vendor and client agree that today is 2026-11-30, whatever the wall clock says."""
    sandbox.shopify.api_date = TODAY
    settings = fast_settings(api_versions_as_of=TODAY.isoformat())
    return deploy(tmp_path, sandbox, warehouse_url, monkeypatch, settings)


def test_a_deprecation_header_is_a_warning_in_the_materialization(
    deployment: Deployment,
) -> None:
    deployment.sandbox.shopify.deprecated_reason = REASON

    result = deployment.sync("shopify", "customers")

    meta = deployment.materialization(result, "shopify", "customers")
    assert meta["api_version"] == "2026-10"
    assert meta["warnings"] == [
        "shopify flagged customers requests as deprecated "
        f"(X-Shopify-API-Deprecated-Reason: {REASON})"
    ]
    deployment.assert_matches_vendor("shopify", "customers")


def test_a_clean_sync_records_the_version_and_no_warnings(deployment: Deployment) -> None:
    result = deployment.sync("shopify", "orders")

    meta = deployment.materialization(result, "shopify", "orders")
    assert (meta["api_version"], meta["api_version_served"]) == ("2026-10", "2026-10")
    assert meta["warnings"] == []


def test_a_connection_pinned_to_a_retired_version_warns_twice_and_still_syncs(
    deployment: Deployment,
) -> None:
    text = deployment.connections_path.read_text()
    deployment.connections_path.write_text(
        text.replace(f"name: {SHOP}\n", f"name: {SHOP}\n    api_version: '2025-10'\n", 1)
    )

    result = deployment.sync("shopify", "customers")

    meta = deployment.materialization(result, "shopify", "customers")
    assert (meta["api_version"], meta["api_version_served"]) == ("2025-10", "2026-01")
    assert meta["warnings"] == [
        "shopify API version 2025-10 was retired on 2026-10-01; Shopify answers with its "
        "oldest supported version, 2026-01; move to 2026-10",
        "shopify served API version 2026-01 instead of the requested 2025-10 (it answers "
        "versions it no longer supports with its oldest supported one): move the connection "
        "to a supported version",
    ]
    deployment.assert_matches_vendor("shopify", "customers")
