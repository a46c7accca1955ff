"""Landing writer committing full buffers in the background, as the extract step uses it."""

from __future__ import annotations

import orjson
import pytest

from integration_assets.load import LandingStore, Warehouse


def body(page: int, records: int = 3) -> bytes:
    return orjson.dumps({"customers": [{"id": page * 100 + n} for n in range(records)]})


def test_every_page_is_committed_in_order_when_the_block_ends(warehouse: Warehouse) -> None:
    store = LandingStore(warehouse)
    with store.writer(max_pages=2, background=True) as writer:
        for page in range(1, 8):
            writer.write("run1", "shop", "customers", page, None, body(page), 3)
        writer.write("run1", "shop", "customers", 3, None, body(3, 1), 1)  # refetched, later
        writer.flush()
        assert store.page_count("run1", "shop", "customers") == 7  # flush waits for it all
    assert writer.pages_written == 8
    pages = list(store.iter_pages("run1", "shop", "customers"))
    assert [page.page_number for page in pages] == list(range(1, 8))
    assert pages[2].record_count == 1 and pages[2].body == body(3, 1)


def test_a_failed_background_commit_is_raised(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LandingStore(warehouse)

    def refuse(pages: list[dict], **_: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(store, "write_pages", refuse)
    with (
        pytest.raises(RuntimeError, match="went away"),
        store.writer(max_pages=1, background=True) as writer,
    ):
        writer.write("run1", "shop", "customers", 1, None, body(1), 3)
        writer.write("run1", "shop", "customers", 2, None, body(2), 3)
