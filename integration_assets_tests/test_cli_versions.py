"""API versions on the command line, run as a user runs it: `doctor` judges every connection's
version against the vendor's schedule, `validate-mappings` mentions the ones in trouble, and a
sync's summary carries the vendor's deprecation warnings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.orchestration.harness import MAPPINGS, write_connections
from integration_assets_tests.test_cli import cli

CONNECTIONS = """
connections:
  - name: main-shop
    vendor: shopify
    base_url: http://127.0.0.1:9
    secrets: {{access_token: IA_TEST_SHOP_TOKEN}}
    entities: {{customers: hourly}}
    api_version: '{shopify}'
  - name: main-klaviyo
    vendor: klaviyo
    base_url: http://127.0.0.1:9
    secrets: {{api_key: IA_TEST_KLAVIYO_KEY}}
    entities: {{profiles: hourly}}
    api_version: '{klaviyo}'
"""


def offline_env(tmp_path: Path, shopify: str, klaviyo: str) -> dict[str, str]:
    """A connections file pinning both versions; `doctor` calls no vendor."""
    path = tmp_path / "connections.yaml"
    path.write_text(CONNECTIONS.format(shopify=shopify, klaviyo=klaviyo))
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "INTEGRATION_CONNECTIONS": str(path),
        "INTEGRATION_MAPPINGS": str(MAPPINGS),
    }


def test_doctor_passes_when_every_version_is_in_good_standing(tmp_path: Path) -> None:
    env = offline_env(tmp_path, "2026-10", "2026-10-15")

    result = cli(["doctor", "--today", "2026-11-30"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "API versions as of 2026-11-30:",
        "✔ main-shop: shopify Admin GraphQL API 2026-10: current "
        "(released 2026-10-01, supported until 2027-10-01)",
        "✔ main-klaviyo: klaviyo API 2026-10-15: current "
        "(released 2026-10-15, deprecated from 2027-10-15, retired from 2028-10-15)",
    ]


def test_doctor_warns_of_an_end_of_support_within_90_days_but_passes(tmp_path: Path) -> None:
    env = offline_env(tmp_path, "2026-01", "2025-10-15")

    result = cli(["doctor", "--today", "2026-11-30"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "⚠ main-shop: shopify Admin GraphQL API 2026-01: supported "
        "(released 2026-01-01, supported until 2027-01-01)"
    ) in result.stdout
    assert (
        "    WARNING: shopify API version 2026-01 is supported for 32 more days "
        "(until 2027-01-01); move to 2026-10"
    ) in result.stdout
    assert "⚠ main-klaviyo: klaviyo API 2025-10-15: deprecated" in result.stdout
    assert "WARNING: klaviyo API version 2025-10-15 is deprecated since 2026-10-15" in (
        result.stdout
    )


def test_doctor_fails_when_a_connection_uses_a_retired_version(tmp_path: Path) -> None:
    env = offline_env(tmp_path, "2025-10", "2026-10-15")

    result = cli(["doctor", "--today", "2026-11-30"], env)

    assert result.returncode == 1
    assert (
        "✘ main-shop: shopify Admin GraphQL API 2025-10: retired "
        "(released 2025-10-01, supported until 2026-10-01)"
    ) in result.stdout
    assert (
        "    ERROR: shopify API version 2025-10 was retired on 2026-10-01; Shopify answers "
        "with its oldest supported version, 2026-01; move to 2026-10"
    ) in result.stdout
    assert "✔ main-klaviyo" in result.stdout
    assert result.stdout.rstrip().endswith(
        "✘ 1 connection(s) use an API version the vendor does not serve as asked"
    )


def test_doctor_judges_any_day_asked_and_a_shorter_horizon_quiets_it(tmp_path: Path) -> None:
    env = offline_env(tmp_path, "2026-01", "2026-10-15")

    before_release = cli(["doctor", "--today", "2026-09-15"], env)
    short_horizon = cli(["doctor", "--today", "2026-11-30", "--warn-days", "30"], env)

    assert before_release.returncode == 1
    assert (
        "✘ main-klaviyo: klaviyo API 2026-10-15: unknown (not released until 2026-10-15)"
        in before_release.stdout
    )
    assert short_horizon.returncode == 0
    assert "WARNING" not in short_horizon.stdout


def test_doctor_reports_a_broken_connections_file_and_a_bad_date(tmp_path: Path) -> None:
    env = offline_env(tmp_path, "2026-11", "2026-10-15")

    broken = cli(["doctor"], env)
    bad_date = cli(
        ["doctor", "--today", "30/11/2026"], offline_env(tmp_path, "2026-10", "2026-10-15")
    )

    assert broken.returncode == 1
    assert "✘ connections:" in broken.stdout
    assert "api_version '2026-11' is not a version of this API" in broken.stdout
    assert bad_date.returncode == 1
    assert "--today takes a date as YYYY-MM-DD, got '30/11/2026'" in bad_date.stderr


def test_validate_mappings_mentions_a_retired_version_but_still_passes(tmp_path: Path) -> None:
    env = offline_env(tmp_path, "2025-10", "2026-10-15")

    result = cli(["validate-mappings"], env)

    assert result.returncode == 0, result.stdout
    assert "⚠ main-shop: shopify API version 2025-10 was retired on 2026-10-01" in result.stdout
    assert "(see `integration-assets doctor`)" in result.stdout
    assert "✔ shopify/customers (graphql) → shopify_customers" in result.stdout


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=9, sizes={"customers": 120}, rate_limits=False) as running:
        yield running


def test_a_sync_summary_carries_the_vendors_deprecation_warning(
    tmp_path: Path, sandbox: Sandbox, sqlite_url: str
) -> None:
    reason = "https://shopify.dev/changelog/customer-fields-deprecated"
    sandbox.shopify.deprecated_reason = reason
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "WAREHOUSE_URL": sqlite_url,
        "INTEGRATION_CONNECTIONS": str(write_connections(tmp_path, sandbox)),
        "INTEGRATION_MAPPINGS": str(MAPPINGS),
        "IA_TEST_SHOP_TOKEN": sandbox.shopify.access_token,
        "IA_TEST_KLAVIYO_KEY": sandbox.klaviyo.api_key,
    }

    result = cli(["sync", "shopify/customers", "--connection", "test-shop"], env)

    assert result.returncode == 0, result.stderr
    assert "✔ shopify/customers @ test-shop" in result.stdout
    assert "  api version 2026-10" in result.stdout
    assert (
        "  ⚠ WARNING: shopify flagged customers requests as deprecated "
        f"(X-Shopify-API-Deprecated-Reason: {reason})"
    ) in result.stdout
    assert sandbox.shopify.access_token not in result.stdout + result.stderr
