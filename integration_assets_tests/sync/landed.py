"""Loads driven straight from hand-made landing pages, for tests of the load step alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integration_assets.connectors.connections import Connection
from integration_assets.load.landing import LandingStore
from integration_assets.load.warehouse import Warehouse
from integration_assets.sync.steps import ExtractResult
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.orchestration.harness import MAPPINGS

SHOP = "shop"


def shop_target(entity: str = "customers", mappings: Path = MAPPINGS) -> SyncTarget:
    """A Shopify connection that is never called: the tests land its pages themselves."""
    connection = Connection(
        name=SHOP,
        vendor="shopify",
        api="rest",
        base_url="http://127.0.0.1:9",
        secrets={"access_token": "IA_UNUSED_TOKEN"},
        entities={"customers": "hourly", "orders": "hourly", "products": "daily"},
    )
    return SyncTarget(connection, entity, mappings)


def raw_customer(id: int, updated_at: str, **fields: Any) -> dict[str, Any]:
    """A Shopify customer as the API serves it (only what the mapping needs)."""
    return {"id": id, "updated_at": updated_at, "email": f"c{id}@example.com", **fields}


def land(
    warehouse: Warehouse, run_id: str, records: list[dict[str, Any]], entity: str = "customers"
) -> ExtractResult:
    """Store `records` as one landed page of `run_id` and describe it like `run_extract` would."""
    if records:
        body = json.dumps({entity: records}).encode()
        LandingStore(warehouse).write_page(run_id, SHOP, entity, 1, None, body, len(records))
    return ExtractResult(
        landing_run_id=run_id,
        connection=SHOP,
        vendor="shopify",
        entity=entity,
        since=None,
        full_refresh=False,
        pages=1 if records else 0,
        records=len(records),
        requests=0,
        retries=0,
        throttled=0,
        server_errors=0,
        timeouts=0,
        rate_limit_wait_seconds=0.0,
        seconds=0.0,
    )
