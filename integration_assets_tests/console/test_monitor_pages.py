"""The console's pages over HTTP: who gets in, what a forged form gets, what the JSON shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from integration_assets.console import ConsoleConfigError, build_app
from integration_assets.console.auth import ConsoleAuth
from integration_assets.console.server import ConsoleServer
from integration_assets.console.triggers import InProcessLauncher
from integration_assets.load.state import SyncStateStore
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.console.monitor_helpers import TOKEN, Console, console_over_sandbox
from integration_assets_tests.monitoring.helpers import SHOP


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes={"customers": 60, "orders": 10, "products": 5}) as running:
        yield running


@pytest.fixture
def console(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Console]:
    launched: list[str] = []
    launcher = InProcessLauncher(sync=lambda connection: launched.append(connection.name))
    with console_over_sandbox(tmp_path, sandbox, warehouse_url, monkeypatch, launcher) as running:
        running.launched = launched  # type: ignore[attr-defined]
        yield running


def _csrf(html: str) -> str:
    match = re.search(r'name=csrf value="([^"]+)"', html)
    assert match, html
    return match.group(1)


@contextmanager
def _signed_in(console: Console) -> Iterator[tuple[httpx.Client, str]]:
    """A client that signed in, and the CSRF token of its session (from the page's forms)."""
    with httpx.Client(base_url=console.url, timeout=30) as http:
        form = http.get("/login")
        answer = http.post("/login", data={"token": TOKEN, "csrf": _csrf(form.text)})
        assert answer.status_code == 303 and answer.headers["location"] == "/status"
        page = http.get("/status")
        assert page.status_code == 200
        yield http, _csrf(page.text)


def test_anonymous_pages_go_to_login_and_json_gets_401(console: Console) -> None:
    with httpx.Client(base_url=console.url) as http:
        page = http.get("/status")
        data = http.get("/status.json")

    assert (page.status_code, page.headers["location"]) == (303, "/login")
    assert data.status_code == 401
    assert data.json() == {"error": "not signed in"}


def test_the_session_cookie_is_http_only_and_same_site_strict(console: Console) -> None:
    with httpx.Client(base_url=console.url) as http:
        form = http.get("/login")
        answer = http.post("/login", data={"token": TOKEN, "csrf": _csrf(form.text)})

    cookie = next(c for c in answer.headers.get_list("set-cookie") if "ia_console_session" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert TOKEN not in cookie


def test_a_wrong_token_is_refused_and_grants_nothing(console: Console) -> None:
    with httpx.Client(base_url=console.url) as http:
        form = http.get("/login")
        answer = http.post("/login", data={"token": "not-the-token", "csrf": _csrf(form.text)})
        after = http.get("/status.json")

    assert answer.status_code == 401
    assert "not the console&#x27;s token" in answer.text
    assert after.status_code == 401


def test_a_login_form_without_its_csrf_token_is_refused(console: Console) -> None:
    with httpx.Client(base_url=console.url) as http:
        missing = http.post("/login", data={"token": TOKEN})
        http.get("/login")
        odd = http.post("/login", data={"token": TOKEN, "csrf": "é"})
        http.cookies.set("ia_console_session", "eyJleHAiOjk5OTk5OTk5OTl9.forged")
        forged_session = http.get("/status")

    assert (missing.status_code, odd.status_code) == (403, 403)
    assert (forged_session.status_code, forged_session.headers["location"]) == (303, "/login")


def test_scripts_may_read_the_json_with_the_token_as_bearer_or_basic_password(
    console: Console,
) -> None:
    with httpx.Client(base_url=console.url) as http:
        bearer = http.get("/status.json", headers={"Authorization": f"Bearer {TOKEN}"})
        basic = http.get("/status.json", auth=("monitor", TOKEN))
        wrong = http.get("/status.json", headers={"Authorization": "Bearer nope"})

    assert bearer.status_code == basic.status_code == 200
    assert {(r["connection"], r["entity"]) for r in bearer.json()["rows"]} == {
        (SHOP, "customers"),
        (SHOP, "orders"),
        (SHOP, "products"),
    }
    assert wrong.status_code == 401


def test_a_sync_now_post_without_the_csrf_token_is_refused(console: Console) -> None:
    with _signed_in(console) as (http, csrf):
        missing = http.post(f"/connections/{SHOP}/sync", data={})
        wrong = http.post(f"/connections/{SHOP}/sync", data={"csrf": csrf[:-2] + "xx"})
        basic_only = httpx.post(
            f"{console.url}/connections/{SHOP}/sync", auth=("x", TOKEN), data={"csrf": csrf}
        )

    assert (missing.status_code, wrong.status_code, basic_only.status_code) == (403, 403, 403)
    assert console.launched == []  # type: ignore[attr-defined]


def test_sync_now_launches_and_flashes_once(console: Console) -> None:
    with _signed_in(console) as (http, csrf):
        answer = http.post(f"/connections/{SHOP}/sync", data={"csrf": csrf})
        first = http.get("/status")
        second = http.get("/status")
        unknown = http.post("/connections/nope/sync", data={"csrf": csrf})

    assert (answer.status_code, answer.headers["location"]) == (303, "/status")
    assert f"Sync of {SHOP} started" in first.text
    assert f"Sync of {SHOP} started" not in second.text
    assert console.launched == [SHOP]  # type: ignore[attr-defined]
    assert unknown.status_code == 404


def test_errors_on_the_page_never_show_personal_data(console: Console) -> None:
    SyncStateStore(console.warehouse).record_failure(
        SHOP, "customers", "run-x", "ValueError: bad record for jane.doe@example.com"
    )
    with _signed_in(console) as (http, _):
        page = http.get("/status").text
        data = http.get("/status.json").text

    assert "jane.doe@example.com" not in page + data
    assert "&lt;email&gt;" in page and "<email>" in data
    assert "/runs/run-x" in page


def test_pages_forbid_framing_and_foreign_scripts(console: Console) -> None:
    with _signed_in(console) as (http, _):
        page = http.get("/status")

    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'nonce-" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "http://" not in re.sub(r'href="http://127\.0\.0\.1:3000/runs/[^"]*"', "", page.text)


def test_without_a_token_the_pages_are_off_and_webhooks_unaffected(
    sqlite_url: str, tmp_path: Path
) -> None:
    from integration_assets.load.warehouse import Warehouse
    from integration_assets_tests.console.helpers import CONNECTIONS, ENVIRON

    warehouse = Warehouse.from_url(sqlite_url)
    app = build_app(warehouse, CONNECTIONS, environ=ENVIRON)
    with ConsoleServer(app) as server, httpx.Client(base_url=server.url) as http:
        page = http.get("/status")
        hook = http.post("/webhooks/shopify/shop", content=b"{}")
    warehouse.dispose()

    assert page.status_code == 503 and "INTEGRATION_CONSOLE_TOKEN" in page.text
    assert hook.status_code == 401  # unsigned: refused by signature, not by a login


def test_a_short_token_stops_the_start() -> None:
    with pytest.raises(ConsoleConfigError, match="at least 16 characters"):
        ConsoleAuth.from_environ({"INTEGRATION_CONSOLE_TOKEN": "short"})


def test_an_unreadable_warehouse_is_a_503_naming_it_without_details(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "warehouse.db"
    broken.write_bytes(b"this is not a SQLite database file, whatever its name says" * 20)
    with console_over_sandbox(tmp_path, sandbox, f"sqlite:///{broken}", monkeypatch) as console:
        page = httpx.get(f"{console.url}/status.json", headers={"Authorization": f"Bearer {TOKEN}"})

    assert page.status_code == 503
    assert page.json()["error"].startswith("The warehouse (sqlite:///")
    assert "(DatabaseError)" in page.json()["error"]


def test_a_running_entity_names_its_run(console: Console) -> None:
    SyncStateStore(console.warehouse).mark_started(SHOP, "orders", "run-in-flight")
    with _signed_in(console) as (http, _):
        page = http.get("/status").text
        rows = http.get("/status.json").json()["rows"]

    assert 'title="run run-in-flight">running</span>' in page
    orders = next(row for row in rows if row["entity"] == "orders")
    assert (orders["status"], orders["running_run_id"]) == ("running", "run-in-flight")
