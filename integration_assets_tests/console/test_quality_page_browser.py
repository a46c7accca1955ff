"""The `/quality` page in a real browser (Debian's chromium driven by Playwright): it loads
with every non-loopback request blocked and none attempted, draws the score charts, narrows
the quarantine on a search, and Replay loads the records today's mapping accepts.

Skipped locally when /usr/bin/chromium is missing; under CI=true that is a failure (`.ci/run`
installs it). `IA_UPDATE_SCREENSHOT=1` refreshes `docs/images/console-quality.png`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from integration_assets.load.state import SyncStateStore
from integration_assets.load.warehouse import Warehouse
from integration_assets_tests.console.monitor_helpers import TOKEN
from integration_assets_tests.console.quality_helpers import (
    EMAIL,
    SHOP,
    customer,
    quality_console,
    quarantine,
    rejected,
    write_history,
)
from integration_assets_tests.orchestration.harness import REPO

SCREENSHOT = REPO / "docs" / "images" / "console-quality.png"
SCORES = (96.0, 97.5, 95.0, 96.5, 92.0, 84.5, 88.0, 93.5, 95.0, 94.0, 96.0, 91.0)
OLD_RULE = "shopify_customers.email: 'a***m' (str, masked) is not a valid email (old rule)"
STILL_BAD = "shopify_customers.updated_at (source updatedAt): required field missing"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture
def warehouse(sqlite_url: str) -> Iterator[Warehouse]:
    chosen = Warehouse.from_url(sqlite_url)
    write_history(chosen, SCORES)
    SyncStateStore(chosen).record_success(
        SHOP,
        "customers",
        "run-11",
        records=200,
        records_per_second=850.0,
        newest_source_at=datetime.now(UTC) - timedelta(minutes=4),
    )
    quarantine(
        chosen,
        "customers",
        # Three people: the shipped rules hold every customer's email unique.
        [
            rejected(
                customer(
                    9000 + n,
                    defaultEmailAddress={"emailAddress": f"ada.{n}@example.com"},
                ),
                OLD_RULE,
            )
            for n in range(3)
        ]
        + [rejected(customer(8000, updatedAt=None), STILL_BAD)],
    )
    yield chosen
    chosen.dispose()


@pytest.fixture
def offline_page(
    browser: Any, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, list[str]]]:
    """A signed-in page on `/quality` whose every request off this machine is blocked; the
    list collects the URLs it tried."""
    with quality_console(warehouse, monkeypatch) as url:
        context = browser.new_context(base_url=url, viewport={"width": 1200, "height": 800})
        attempted: list[str] = []

        def guard(route: Any) -> None:
            if urlsplit(route.request.url).hostname in LOOPBACK:
                route.continue_()
            else:
                attempted.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.goto("/quality")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.goto("/quality")
        yield page, attempted
        context.close()


def _rows(page: Any) -> Any:
    return page.locator("tr[data-quarantine-id]")


def test_the_page_loads_offline_and_draws_the_scores(
    offline_page: tuple[Any, list[str]], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page, attempted = offline_page

    shop_chart = page.locator('[data-connection="test-shop"] svg.score-chart')
    expect(shop_chart).to_be_visible()
    assert shop_chart.locator("circle.point").count() == len(SCORES)
    assert shop_chart.bounding_box()["width"] > 300
    expect(page.locator('[data-connection="test-shop"] [data-dimension=overall] b')).to_have_text(
        "91.0"
    )
    expect(page.locator('tr[data-check="email"]').first).to_contain_text("9001, 9002")
    expect(_rows(page)).to_have_count(4)
    shown = _rows(page).filter(has_text="9001")
    shown.locator("summary").click()
    expect(shown.locator("pre")).to_contain_text('"firstName": "A***a"')
    assert EMAIL not in page.content()
    page.screenshot(path=str(tmp_path / "console-quality.png"), full_page=True)
    assert attempted == []
    if os.environ.get("IA_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "console-quality.png", SCREENSHOT)


def test_searching_the_quarantine_narrows_its_rows(
    offline_page: tuple[Any, list[str]],
) -> None:
    from playwright.sync_api import expect

    page, attempted = offline_page
    expect(_rows(page)).to_have_count(4)

    page.fill("input[name=q]", "required field")
    page.click("form.search button")

    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text("8000")
    expect(page.locator("input[name=q]")).to_have_value("required field")
    assert attempted == []


def test_replay_loads_what_todays_mapping_accepts(
    offline_page: tuple[Any, list[str]], warehouse: Warehouse
) -> None:
    from playwright.sync_api import expect

    page, attempted = offline_page

    page.click('tr[data-replay="test-shop/customers"] button')

    expect(page.locator("p.flash.ok")).to_have_text(
        "Replayed shopify/customers @ test-shop: 3 replayed, 1 still failing, 0 stale."
    )
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text(STILL_BAD)
    with warehouse.read() as conn:
        loaded = conn.exec_driver_sql("SELECT id FROM shopify_customers ORDER BY id").scalars()
        assert list(loaded) == [9000, 9001, 9002]
    assert attempted == []
