"""Landing: raw pages written, read back in order and chunks, rewritten, pruned."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text

from integration_assets.load import LandingStore, Warehouse, ensure_bookkeeping


def body(page: int, records: int = 3) -> bytes:
    return orjson.dumps({"customers": [{"id": page * 100 + n} for n in range(records)]})


def test_pages_come_back_in_order_in_chunks(warehouse: Warehouse) -> None:
    store = LandingStore(warehouse)
    for page in (3, 1, 5, 2, 4):
        store.write_page("run1", "shop", "customers", page, f"https://x/p{page}", body(page), 3)
    store.write_page("run1", "shop", "orders", 1, None, b"{}", 0)
    store.write_page("run2", "shop", "customers", 1, None, b"{}", 0)
    pages = list(store.iter_pages("run1", "shop", "customers", chunk_pages=2))
    assert [p.page_number for p in pages] == [1, 2, 3, 4, 5]
    assert [p.body for p in pages] == [body(n) for n in range(1, 6)]
    assert pages[0].url == "https://x/p1" and pages[0].record_count == 3
    assert pages[0].fetched_at.tzinfo is not None
    assert store.page_count("run1", "shop", "customers") == 5
    assert store.record_count("run1", "shop", "customers") == 15
    assert store.record_count("nope", "shop", "customers") == 0


def test_rewriting_a_page_replaces_it(warehouse: Warehouse) -> None:
    store = LandingStore(warehouse)
    store.write_page("run1", "shop", "customers", 1, None, body(1, 2), 2)
    store.write_page("run1", "shop", "customers", 1, None, body(1, 5), 5)
    assert store.page_count("run1", "shop", "customers") == 1
    (page,) = store.iter_pages("run1", "shop", "customers")
    assert (page.body, page.record_count) == (body(1, 5), 5)


def test_large_binary_bodies_round_trip(warehouse: Warehouse) -> None:
    store = LandingStore(warehouse)
    big = os.urandom(300_000) + bytes(range(256)) + orjson.dumps({"x": "é" * 50_000})
    store.write_page("run1", "shop", "customers", 1, None, big, 1)
    (page,) = store.iter_pages("run1", "shop", "customers")
    assert page.body == big


def test_writer_commits_several_pages_per_transaction(warehouse: Warehouse) -> None:
    store = LandingStore(warehouse)
    with store.writer(max_pages=2) as writer:
        writer.write("run1", "shop", "customers", 1, None, body(1), 3)
        assert store.page_count("run1", "shop", "customers") == 0
        writer.write("run1", "shop", "customers", 2, None, body(2), 3)
        assert store.page_count("run1", "shop", "customers") == 2
        writer.write("run1", "shop", "customers", 3, None, body(3), 3)
        writer.write("run1", "shop", "customers", 3, None, body(3, 1), 1)  # refetched
    assert writer.pages_written == 3
    assert store.record_count("run1", "shop", "customers") == 7


def test_writer_flushes_on_byte_budget_and_on_error(warehouse: Warehouse) -> None:
    store = LandingStore(warehouse)
    with pytest.raises(RuntimeError), store.writer(max_pages=100, max_bytes=10) as writer:
        writer.write("run1", "shop", "customers", 1, None, body(1), 3)
        assert store.page_count("run1", "shop", "customers") == 1
        writer.write("run1", "shop", "customers", 2, None, b"[]", 0)
        raise RuntimeError("mapping failed on page 2")
    assert store.page_count("run1", "shop", "customers") == 2


def test_prune_deletes_old_pages(warehouse: Warehouse) -> None:
    store = LandingStore(warehouse)
    now = datetime(2024, 6, 1, tzinfo=UTC)
    store.write_page(
        "old", "shop", "customers", 1, None, b"[]", 0, fetched_at=now - timedelta(days=9)
    )
    store.write_page(
        "old", "shop", "customers", 2, None, b"[]", 0, fetched_at=now - timedelta(days=8)
    )
    store.write_page(
        "new", "shop", "customers", 1, None, b"[]", 0, fetched_at=now - timedelta(days=1)
    )
    assert store.prune(timedelta(days=7), now=now) == 2
    assert store.page_count("old", "shop", "customers") == 0
    assert store.page_count("new", "shop", "customers") == 1
    assert store.prune(timedelta(days=7), now=now) == 0


def test_page_bodies_skip_pglz_compression(postgres_url: str) -> None:
    """TOAST storage is a Postgres setting; pglz would cost more than the page write itself."""
    warehouse = Warehouse.from_url(postgres_url)
    ensure_bookkeeping(warehouse)
    with warehouse.read() as conn:
        compression, storage = conn.execute(
            text(
                "SELECT attcompression, attstorage FROM pg_attribute "
                "WHERE attrelid = 'integration.landing_pages'::regclass AND attname = 'body'"
            )
        ).one()
    warehouse.dispose()
    assert compression == "l" or storage == "e"
