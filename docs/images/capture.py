"""Capture the README's screenshots from a running `make demo`.

Re-run it (with the demo up, after a few minutes so webhook runs have happened):

    make demo                                  # in one terminal
    .venv/bin/python docs/images/capture.py    # in another

It drives Debian's Chromium (`/usr/bin/chromium`, `apt-get install chromium`) with Playwright
(in the dev extras; Playwright's own browser downloads are not used) and overwrites
`dagster-runs.png`, `dagster-automation.png`, `dagster-checks.png`, `console-status.png` and
`console-quality.png`
beside this file. The console token defaults to the demo's (`INTEGRATION_CONSOLE_TOKEN` when
set). `--only console-quality` (repeatable) takes only the named ones.

`console-quality.png` can also come from the `/quality` browser test's data, which has a
quality history and a quarantine from its first second:
`IA_UPDATE_SCREENSHOT=1 .venv/bin/pytest integration_assets_tests/console/test_quality_page_browser.py`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
SETTLE_MS = 3000
"""The Dagster UI keeps polling, so "network idle" never comes; wait for content, then this."""


def _dismiss_welcome(page: Any) -> None:
    """A fresh Dagster UI asks once to join its community; skip it so the page shows."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
    except Exception:
        return
    skip.click()


def _dagster_page(page: Any, url: str, wait_for: str, out: Path) -> None:
    page.goto(url)
    _dismiss_welcome(page)
    page.get_by_text(wait_for).first.wait_for(timeout=60_000)
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=str(out))
    print(f"wrote {out}")


def _console_sign_in(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/status", timeout=60_000)


def _console_status(page: Any, url: str, out: Path) -> None:
    page.goto(f"{url}/status")
    page.wait_for_selector("[data-field=status]", timeout=60_000)
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=str(out), full_page=True)
    print(f"wrote {out}")


def _console_quality(page: Any, url: str, out: Path) -> None:
    """The quality page: charts, failures, findings, lag and the quarantine (masked)."""
    page.goto(f"{url}/quality")
    page.wait_for_selector("#quarantine", timeout=60_000)
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=str(out), full_page=True)
    print(f"wrote {out}")


SHOTS = (
    "dagster-runs",
    "dagster-automation",
    "dagster-checks",
    "console-status",
    "console-quality",
)


def main() -> None:
    from playwright.sync_api import sync_playwright

    from integration_assets.demo import DEMO_CONSOLE_TOKEN

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dagster", default="http://127.0.0.1:3000")
    parser.add_argument("--console", default="http://127.0.0.1:8700")
    parser.add_argument(
        "--token", default=os.environ.get("INTEGRATION_CONSOLE_TOKEN") or DEMO_CONSOLE_TOKEN
    )
    parser.add_argument("--only", action="append", choices=SHOTS, help="only this screenshot")
    args = parser.parse_args()
    wanted = set(args.only or SHOTS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 800})
        page = context.new_page()
        succeeded = f"{args.dagster}/runs?q%5B0%5D=status%3ASUCCESS"  # finished webhook runs
        if "dagster-runs" in wanted:
            _dagster_page(page, succeeded, "webhook_inbox", HERE / "dagster-runs.png")
        if "dagster-automation" in wanted:
            _dagster_page(
                page, f"{args.dagster}/automation", "webhook_inbox", HERE / "dagster-automation.png"
            )
        if "dagster-checks" in wanted:  # a polled asset's quality checks (webhook runs skip them)
            _dagster_page(
                page,
                f"{args.dagster}/assets/shopify/products?view=checks&checkDetail=quality",
                "volume_anomaly",
                HERE / "dagster-checks.png",
            )
        if wanted & {"console-status", "console-quality"}:
            _console_sign_in(page, args.console, args.token)
        if "console-status" in wanted:
            _console_status(page, args.console, HERE / "console-status.png")
        if "console-quality" in wanted:
            _console_quality(page, args.console, HERE / "console-quality.png")
        browser.close()


if __name__ == "__main__":
    main()
