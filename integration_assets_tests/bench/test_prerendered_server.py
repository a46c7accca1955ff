"""The benchmark's pre-rendered server: the sandbox's exact pages, served from memory.

`bench/sync_throughput.py` times our sync and its ceilings against this server instead of the
sandbox, so that the sandbox's rendering speed is no longer what the ceilings measure. These
stories check that this changes nothing a client can see: same bodies, `Link` headers that
point back at it, the product's own extract reads every record, and anything it was not
rendered for is forwarded to the sandbox (and counted) rather than answered wrongly.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import httpx

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.extract import PageStream, UnlimitedLimiter
from integration_assets.sandbox import run_sandbox

BENCH = Path(__file__).resolve().parents[2] / "bench"
FIRST = "/admin/api/2026-10/customers.json?limit=250"
SIZES = {"customers": 600, "orders": 5, "products": 5, "profiles": 5, "events": 5}


def _bench_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


prerendered_server = _bench_module("prerendered_server")


def _walk(base_url: str, token: str) -> list[httpx.Response]:
    """Every page from FIRST, following `rel="next"`, on one keep-alive connection."""
    pages = []
    url: str | None = base_url + FIRST
    with httpx.Client(headers={"X-Shopify-Access-Token": token}) as client:
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.text
            pages.append(response)
            match = re.search(r'<([^>]+)>;\s*rel="next"', response.headers.get("link", ""))
            url = match.group(1) if match else None
    return pages


def test_it_serves_the_sandboxs_own_pages_with_links_back_to_itself() -> None:
    with run_sandbox(seed=3, sizes=SIZES, rate_limits=False) as sandbox:
        sandbox.shopify.api_date = date(2026, 11, 30)  # 2026-10 is served as itself
        token = sandbox.shopify.access_token
        headers = {"X-Shopify-Access-Token": token}
        with prerendered_server.serve_prerendered(sandbox.shopify_url, [FIRST], headers) as fast:
            served = _walk(fast.url, token)
            stats = fast.stats()
        direct = _walk(sandbox.shopify_url, token)

    assert [page.content for page in served] == [page.content for page in direct]
    assert len(served) == 3  # 600 customers, 250 a page
    for page in served[:-1]:
        assert (
            f"<{fast.url}/admin/api/2026-10/customers.json?limit=250&page_info="
            in (page.headers["link"])
        )
    assert served[0].headers["x-shopify-api-version"] == "2026-10"
    assert stats == {
        "hits": 3,
        "misses": 0,
        "pages": 3,
        "rendered_bytes": sum(len(page.content) for page in direct),
        "render_seconds": stats["render_seconds"],
        "recording": False,
        "recorded": 0,
        "recorded_gets": [],
    }


def test_the_products_extract_reads_every_record_from_it() -> None:
    with run_sandbox(seed=3, sizes=SIZES, rate_limits=False) as sandbox:
        token = sandbox.shopify.access_token
        headers = {"X-Shopify-Access-Token": token}
        truth = sorted(record["id"] for record in sandbox.shopify.records("customers"))
        with prerendered_server.serve_prerendered(sandbox.shopify_url, [FIRST], headers) as fast:
            connection = Connection(
                name="bench-shop",
                vendor="shopify",
                base_url=fast.url,
                secrets={"access_token": "IA_TEST_BENCH_TOKEN"},
                entities={"customers": "hourly"},
            )
            stream = PageStream(
                get_connector("shopify", "rest"),
                "customers",
                connection,
                secrets={"access_token": token},
                limiter=UnlimitedLimiter(),
            )
            ids = sorted(record["id"] for page in stream for record in page.records)
            stats = fast.stats()

    assert ids == truth
    assert (stats["hits"], stats["misses"]) == (3, 0)


def test_a_request_it_holds_no_page_for_is_forwarded_to_the_sandbox() -> None:
    with run_sandbox(seed=3, sizes=SIZES, rate_limits=False) as sandbox:
        token = sandbox.shopify.access_token
        headers = {"X-Shopify-Access-Token": token}
        with prerendered_server.serve_prerendered(sandbox.shopify_url, [FIRST], headers) as fast:
            wrong_token = httpx.get(fast.url + FIRST, headers={"X-Shopify-Access-Token": "nope"})
            other = httpx.get(fast.url + "/admin/api/2026-10/customers/count.json", headers=headers)
            stats = fast.stats()

    assert wrong_token.status_code == 401
    assert "Invalid API key or access token" in wrong_token.text
    assert other.status_code == 200 and other.json() == {"count": 600}
    assert (stats["hits"], stats["misses"]) == (0, 2)
