"""The `/quality` page over HTTP on SQLite and Postgres: who gets in, the quality history it
draws, the quarantine it lists (searched, paged, masked) and what Replay does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.state import SyncStateStore
from integration_assets.load.warehouse import Warehouse
from integration_assets_tests.console.monitor_helpers import TOKEN
from integration_assets_tests.console.quality_helpers import (
    EMAIL,
    PHONE,
    SHOP,
    customer,
    quality_console,
    quarantine,
    rejected,
    write_history,
)

OLD_RULE = "shopify_customers.email: 'a***m' (str, masked) is not a valid email (old rule)"
STILL_BAD = "shopify_customers.updated_at (source updatedAt): required field missing"


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Warehouse]:
    chosen = Warehouse.from_url(warehouse_url)
    yield chosen
    chosen.dispose()


@pytest.fixture
def console_url(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with quality_console(warehouse, monkeypatch) as url:
        yield url


def _csrf(html: str) -> str:
    match = re.search(r'name=csrf value="([^"]+)"', html)
    assert match, html
    return match.group(1)


@contextmanager
def _signed_in(url: str) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=url, timeout=30) as http:
        form = http.get("/login")
        http.post("/login", data={"token": TOKEN, "csrf": _csrf(form.text)})
        page = http.get("/quality")
        assert page.status_code == 200, page.text
        yield http, _csrf(page.text)


def _open_rows(warehouse: Warehouse) -> int:
    table = bookkeeping(warehouse.dialect).quarantine
    with warehouse.read() as conn:
        query = select(func.count()).where(table.c.resolved_at.is_(None))
        return conn.execute(query.select_from(table)).scalar_one()


def test_the_page_and_its_json_need_a_login_and_replay_a_session(console_url: str) -> None:
    with httpx.Client(base_url=console_url) as http:
        page = http.get("/quality")
        data = http.get("/quality.json")
        replay = http.post("/quality/replay", data={"connection": SHOP, "entity": "customers"})

    assert (page.status_code, page.headers["location"]) == (303, "/login")
    assert data.status_code == 401
    assert replay.status_code == 403


def test_scores_failures_findings_and_lag_are_shown(console_url: str, warehouse: Warehouse) -> None:
    write_history(warehouse)
    SyncStateStore(warehouse).record_success(
        SHOP,
        "customers",
        "run-3",
        records=200,
        records_per_second=900.0,
        newest_source_at=datetime.now(UTC) - timedelta(hours=3, minutes=1),
    )

    with _signed_in(console_url) as (http, _):
        html = http.get("/quality").text

    shop = html[html.index(f'data-connection="{SHOP}"') :]
    assert re.search(r'<svg class="score-chart"[^>]*data-points="4"', shop)
    assert shop.count('<circle class="point"') >= 4
    assert re.search(r'data-dimension="overall"><b>91.0</b>', shop)
    assert re.search(r'data-dimension="validity"><b>89.0</b>', shop)
    email_failure = re.search(r'<tr data-check="email">(.*?)</tr>', shop)
    assert email_failure and "<td class=num>10</td>" in email_failure.group(1)
    assert "9001, 9002" in email_failure.group(1)
    assert "state drifted: new category &#x27;paused&#x27;" in shop
    assert "rows fell to 3" not in shop  # an earlier sync's anomaly, not the latest
    assert EMAIL not in html  # quoted in a finding's message: masked
    customers_lag = re.search(r'data-entity="customers">.*?data-field=lag>([^<]*)<', shop)
    assert customers_lag and customers_lag.group(1) == "3h"
    assert 'data-entity="orders"' in shop  # every configured entity, synced or not
    assert 'href="/quality" aria-current="page"' in html


def test_the_quarantine_hides_personal_data(console_url: str, warehouse: Warehouse) -> None:
    quarantine(warehouse, "customers", [rejected(customer(9001), OLD_RULE)])

    with _signed_in(console_url) as (http, _):
        html = http.get("/quality").text

    row = html[html.index('data-quarantine-id="') :]
    assert "<td>9001</td>" in row and OLD_RULE.replace("'", "&#x27;") in row
    assert "gid://shopify/Customer/9001" in row  # the raw record, ids kept
    for personal in (EMAIL, PHONE, "Lovelace", "Analytical Row", "Marylebone", "Babbage"):
        assert personal not in html


def test_searching_narrows_the_quarantine_and_pages_it(
    console_url: str, warehouse: Warehouse
) -> None:
    quarantine(
        warehouse,
        "customers",
        [rejected(customer(9000 + n), OLD_RULE) for n in range(24)]
        + [rejected(customer(8000, updatedAt=None), STILL_BAD)],
    )

    with _signed_in(console_url) as (http, _):
        everything = http.get("/quality").text
        second = http.get("/quality", params={"page": "2"}).text
        by_reason = http.get("/quality", params={"q": "REQUIRED FIELD"}).text
        by_key = http.get("/quality", params={"q": "9017"}).text
        other_entity = http.get("/quality", params={"entity": "orders"}).text

    def ids(html: str) -> list[str]:
        return re.findall(r'data-quarantine-id="(\d+)"', html)

    assert (len(ids(everything)), len(ids(second))) == (20, 5)
    assert "25 matching · page 1 of 2" in everything
    assert not set(ids(everything)) & set(ids(second))
    assert len(ids(by_reason)) == 1 and "<td>8000</td>" in by_reason
    assert len(ids(by_key)) == 1 and "<td>9017</td>" in by_key
    assert ids(other_entity) == [] and "No open quarantined record matches." in other_entity


def test_replay_needs_the_csrf_token_then_loads_what_todays_mapping_accepts(
    console_url: str, warehouse: Warehouse
) -> None:
    quarantine(
        warehouse,
        "customers",
        [
            rejected(customer(9001), OLD_RULE),
            rejected(customer(8000, updatedAt=None), STILL_BAD),
        ],
    )
    form = {"connection": SHOP, "entity": "customers"}

    with _signed_in(console_url) as (http, csrf):
        forged = http.post("/quality/replay", data={**form, "csrf": "forged"})
        open_after_forgery = _open_rows(warehouse)
        done = http.post("/quality/replay", data={**form, "csrf": csrf}, follow_redirects=True)

    assert forged.status_code == 403 and open_after_forgery == 2
    assert "Replayed shopify/customers @ test-shop: 1 replayed, 1 still failing, 0 stale." in (
        done.text
    )
    assert _open_rows(warehouse) == 1
    assert 'data-quarantine-id="' in done.text and "<td>8000</td>" in done.text
    with warehouse.read() as conn:
        loaded = conn.exec_driver_sql("SELECT count(*) FROM shopify_customers WHERE id = 9001")
        loaded = loaded.scalar()
    assert loaded == 1


def test_the_json_carries_the_same_figures_for_a_bearer_token(
    console_url: str, warehouse: Warehouse
) -> None:
    write_history(warehouse)
    quarantine(warehouse, "customers", [rejected(customer(9001), OLD_RULE)])

    answer = httpx.get(
        f"{console_url}/quality.json", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )

    (shopify,) = answer.json()["integrations"]
    (shop,) = shopify["connections"]
    assert [p["overall"] for p in shop["history"]] == [97.0, 95.5, 88.0, 91.0]
    assert [p["overall"] for p in shopify["history"]] == [98.0, 96.5, 89.0, 92.0]
    assert shop["failures"][0]["check"] == "email" and shop["failures"][0]["count"] == 10
    assert [f["kind"] for f in shop["findings"]] == ["drift"]
    assert answer.json()["quarantine"] == [{"connection": SHOP, "entity": "customers", "open": 1}]
    assert EMAIL not in answer.text


def test_a_replay_the_console_cannot_run_says_why_and_changes_nothing(
    console_url: str, warehouse: Warehouse
) -> None:
    quarantine(warehouse, "customers", [rejected(customer(9001), OLD_RULE)])

    with _signed_in(console_url) as (http, csrf):
        gone = http.post(
            "/quality/replay",
            data={"connection": "gone-shop", "entity": "customers", "csrf": csrf},
            follow_redirects=True,
        )
        unknown = http.post(
            "/quality/replay",
            data={"connection": SHOP, "entity": "widgets", "csrf": csrf},
            follow_redirects=True,
        )

    assert "No connection &#x27;gone-shop&#x27; in the connections file." in gone.text
    flash = re.search(r'<p class="flash error" role=status>([^<]*)</p>', unknown.text)
    assert flash and flash.group(1).startswith("Replay of widgets @ test-shop failed: ")
    assert _open_rows(warehouse) == 1
