"""Helpers for mapping tests: a scratch mappings directory and a small valid mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MAPPINGS = REPO_ROOT / "mappings"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

WriteJson = Callable[[str, Any], Path]


def customer_mapping(**changes: Any) -> dict[str, Any]:
    """A small, valid mapping of Shopify customers; `changes` replace top-level keys."""
    mapping: dict[str, Any] = {
        "integration": "shopify",
        "entity": "customers",
        "table": "shopify_customers",
        "primary_key": ["id"],
        "source_updated_at": "updated_at",
        "mappings": [
            {"source": "id", "target": "id", "type": "integer"},
            {"source": "email", "target": "email", "type": "string"},
            {"source": "updated_at", "target": "updated_at", "type": "datetime"},
            {"source": "total_spent", "target": "total_spent", "type": "decimal"},
            {"source": "default_address.city", "target": "city", "type": "string"},
        ],
    }
    mapping.update(changes)
    return mapping


def order_mapping() -> dict[str, Any]:
    """A small, valid mapping of Shopify orders with line items in a child table."""
    return {
        "integration": "shopify",
        "entity": "orders",
        "table": "shopify_orders",
        "primary_key": ["id"],
        "source_updated_at": "updated_at",
        "mappings": [
            {"source": "id", "target": "id", "type": "integer"},
            {"source": "updated_at", "target": "updated_at", "type": "datetime"},
            {"source": "total_price", "target": "total_price", "type": "decimal"},
            {
                "source": "line_items",
                "nested": {
                    "table": "shopify_order_line_items",
                    "primary_key": ["id"],
                    "parent_key": {"order_id": "id"},
                    "mappings": [
                        {"source": "id", "target": "id", "type": "integer"},
                        {"source": "sku", "target": "sku", "type": "string"},
                        {"source": "price", "target": "price", "type": "decimal"},
                    ],
                },
            },
        ],
    }


@pytest.fixture
def mappings_dir(tmp_path: Path) -> Path:
    """An empty mappings directory of this test's own."""
    root = tmp_path / "mappings"
    root.mkdir()
    return root


@pytest.fixture
def write_json(mappings_dir: Path) -> WriteJson:
    """Write `data` (JSON-encoded unless it is already text) at a path under mappings_dir."""

    def write(relative: str, data: Any) -> Path:
        path = mappings_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
        return path

    return write
