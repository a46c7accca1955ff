"""Fixtures of the load tests: a `Warehouse` on each backend, bookkeeping and tables ready."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration_assets.load import Warehouse, ensure_bookkeeping, ensure_tables
from integration_assets_tests.load.samples import CUSTOMERS, LINE_ITEMS, ORDERS


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Warehouse]:
    """A Warehouse on a fresh database of each backend, bookkeeping tables created."""
    wh = Warehouse.from_url(warehouse_url)
    try:
        ensure_bookkeeping(wh)
        yield wh
    finally:
        wh.dispose()


@pytest.fixture
def customers_wh(warehouse: Warehouse) -> Warehouse:
    ensure_tables(warehouse, [CUSTOMERS])
    return warehouse


@pytest.fixture
def orders_wh(warehouse: Warehouse) -> Warehouse:
    ensure_tables(warehouse, [ORDERS, LINE_ITEMS])
    return warehouse
