"""The status page in a real browser (Debian's chromium driven by Playwright): login, the
table of a synced connection, the page refreshing itself, "sync now" and a forged form.

Skipped locally when /usr/bin/chromium is missing; under CI=true that is a failure (`.ci/run`
installs it). Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.console.monitor_helpers import TOKEN, Console, console_over_sandbox
from integration_assets_tests.monitoring.helpers import SHOP, sync
from integration_assets_tests.orchestration.harness import REPO

SCREENSHOT = REPO / "docs" / "images" / "console-status.png"
WAIT_MS = 60_000


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes={"customers": 120, "orders": 30, "products": 15}) as running:
        yield running


@pytest.fixture
def console(
    tmp_path: Path, sandbox: Sandbox, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Console]:
    with console_over_sandbox(tmp_path, sandbox, sqlite_url, monkeypatch) as running:
        yield running


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    context = browser.new_context(base_url=console.url, viewport={"width": 1200, "height": 560})
    opened = context.new_page()
    yield opened
    context.close()


def _sign_in(page: Any, token: str = TOKEN) -> None:
    page.goto("/status")
    page.fill("#token", token)
    page.click("button[type=submit]")


def _cell(page: Any, entity: str, field: str) -> Any:
    return page.locator(f'tr[data-key="{SHOP}/{entity}"] [data-field={field}]')


def test_the_status_page_needs_a_login(page: Any, console: Console) -> None:
    page.goto("/status")

    assert page.url == f"{console.url}/login"
    assert page.locator("#token").is_visible()


def test_a_wrong_token_is_refused(page: Any, console: Console) -> None:
    from playwright.sync_api import expect

    _sign_in(page, "not-the-console-token")

    expect(page.locator("[role=alert]")).to_have_text("That token is not the console's token.")
    assert page.url == f"{console.url}/login"
    assert page.request.get("/status.json").status == 401


def test_the_page_shows_a_synced_connection(page: Any, console: Console) -> None:
    from playwright.sync_api import expect

    sync(console.shop, "customers", console.warehouse, "run-shown")

    _sign_in(page)

    expect(_cell(page, "customers", "status")).to_have_text("ok")
    expect(_cell(page, "customers", "last_success")).to_have_text(re.compile(r"^\d+s ago$"))
    assert _cell(page, "customers", "records_per_second").inner_text().endswith("/s")
    expect(_cell(page, "orders", "status")).to_have_text("late")  # 15m, never synced
    expect(page.locator(f'section[data-connection="{SHOP}"] button')).to_have_text("Sync now")


def test_the_page_refreshes_itself_after_another_sync(page: Any, console: Console) -> None:
    from playwright.sync_api import expect

    _sign_in(page)
    expect(_cell(page, "orders", "status")).to_have_text("late")
    page.evaluate("window.notReloaded = true")

    sync(console.shop, "orders", console.warehouse, "run-later")

    expect(_cell(page, "orders", "status")).to_have_text("ok", timeout=WAIT_MS)
    assert page.evaluate("window.notReloaded") is True


def test_sync_now_launches_a_dagster_run_and_the_rows_update(page: Any, console: Console) -> None:
    from playwright.sync_api import expect

    _sign_in(page)
    expect(_cell(page, "customers", "status")).to_have_text("late")

    page.click(f'section[data-connection="{SHOP}"] button')

    expect(page.locator("p.flash.ok")).to_contain_text(f"Sync of {SHOP} started")
    for entity in ("customers", "orders", "products"):
        expect(_cell(page, entity, "status")).to_have_text("ok", timeout=WAIT_MS)
    with DagsterInstance.from_config(str(console.dagster_home)) as instance:
        # The rows turn ok when the loads commit; the run's own end is recorded a moment later.
        deadline = time.monotonic() + WAIT_MS / 1000
        (run,) = instance.get_runs()
        while not run.is_finished and time.monotonic() < deadline:
            time.sleep(0.2)  # the run ends in the console's sync thread: poll its storage
            (run,) = instance.get_runs()
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == SHOP
        assert run.tags["integration/trigger"] == "console"
    page.screenshot(path=str(console.dagster_home / "console-status.png"), full_page=True)
    if os.environ.get("IA_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(console.dagster_home / "console-status.png", SCREENSHOT)


def test_a_sync_now_post_without_csrf_is_refused(page: Any, console: Console) -> None:
    _sign_in(page)
    page.wait_for_url("**/status")

    forged = page.request.post(f"/connections/{SHOP}/sync", form={"csrf": "forged"})
    missing = page.request.post(f"/connections/{SHOP}/sync", form={})

    assert (forged.status, missing.status) == (403, 403)
    with DagsterInstance.from_config(str(console.dagster_home)) as instance:
        assert instance.get_runs() == []
