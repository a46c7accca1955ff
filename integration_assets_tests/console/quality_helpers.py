"""Quality history and quarantine rows written straight into a real warehouse, as the
quality stage and the load stage would leave them, for the `/quality` page's tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration_assets.connectors.connections import Connection
from integration_assets.console import ConsoleSettings, build_app
from integration_assets.console.server import ConsoleServer
from integration_assets.load.bookkeeping import ensure_bookkeeping
from integration_assets.load.quarantine import quarantine_records
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.loader import MAPPINGS_ENV_VAR
from integration_assets.quality.metrics import quality_tables
from integration_assets.schema import RejectedRecord
from integration_assets_tests.console.monitor_helpers import CONSOLE_ENV
from integration_assets_tests.orchestration.harness import MAPPINGS

SHOP = "test-shop"
VENDOR = "shopify"
EMAIL = "ada.lovelace@example.com"
PHONE = "+447700900123"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
OVERALL = (97.0, 95.5, 88.0, 91.0)
"""The connection's overall score at four syncs, oldest first."""


def customer(number: int | str, **changes: Any) -> dict[str, Any]:
    """A Shopify GraphQL customer the current mapping accepts (unless `changes` break it),
    full of personal data the page must never show."""
    return {
        "id": f"gid://shopify/Customer/{number}",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "defaultEmailAddress": {"emailAddress": EMAIL, "marketingState": "SUBSCRIBED"},
        "defaultPhoneNumber": {"phoneNumber": PHONE},
        "defaultAddress": {"address1": "12 Analytical Row", "city": "Marylebone", "zip": "N1 9GU"},
        "note": "prefers Babbage engines",
        "numberOfOrders": "3",
        "createdAt": "2026-10-01T10:00:00Z",
        "updatedAt": "2026-11-01T10:00:00Z",
        **changes,
    }


def _scores(overall: float) -> dict[str, float]:
    return {
        "completeness": 99.0,
        "validity": overall - 2,
        "consistency": 100.0,
        "accuracy": 96.5,
        "timeliness": 100.0,
        "overall": overall,
    }


@contextmanager
def quality_console(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a console of one Shopify connection (never called: nothing extracts),
    with the repository's mappings, as `integration-assets serve` has them."""
    monkeypatch.setenv(MAPPINGS_ENV_VAR, str(MAPPINGS))
    shop = Connection(
        name=SHOP,
        vendor=VENDOR,
        base_url="http://127.0.0.1:9",
        secrets={"access_token": "IA_TEST_SHOP_TOKEN"},
        entities={"customers": "hourly", "orders": "15m"},
    )
    app = build_app(warehouse, [shop], ConsoleSettings(), environ=CONSOLE_ENV)
    with ConsoleServer(app) as server:
        yield server.url


def write_history(warehouse: Warehouse, overall_scores: Sequence[float] = OVERALL) -> None:
    """A sync of customers per score: `sync`, `connection` and `integration` rows each, each
    with two kinds of failure; a volume anomaly in the first, a drift in the last (the first
    is old news by then)."""
    tables = quality_tables(warehouse.dialect)
    ensure_bookkeeping(warehouse, tables.metadata)
    metrics, rows, findings = tables.metrics, [], []
    last = len(overall_scores) - 1
    for number, overall in enumerate(overall_scores):
        at, run = START + timedelta(hours=number), f"run-{number}"
        failures = [
            {
                "check": "email",
                "dimension": "validity",
                "column": "email",
                "count": 7 + number,
                "example_ids": ["9001", "9002"],
            },
            {
                "check": "required",
                "dimension": "completeness",
                "column": "updated_at",
                "count": 2,
                "example_ids": ["9003"],
            },
        ]
        base = {"measured_at": at, "vendor": VENDOR, "run_id": run, "records": 200}
        base |= {"passed": 190, "pass_rate": 0.95, "threshold": 0.9, "gate_passed": True}
        rows += [
            {**base, "scope": "sync", "connection": SHOP, "entity": "customers",
             **_scores(overall), "details": {"failures": failures, "profile": {}}},
            {**base, "scope": "connection", "connection": SHOP, "entity": None,
             **_scores(overall), "details": None},
            {**base, "scope": "integration", "connection": None, "entity": None,
             **_scores(overall + 1), "details": None},
        ]  # fmt: skip
    findings = [
        {"measured_at": START, "run_id": "run-0", "kind": "volume_anomaly", "metric": "rows",
         "column_name": None, "value": 3.0, "expected": 200.0, "score": 9.1,
         "message": "rows fell to 3 from a median of 200"},
        {"measured_at": START + timedelta(hours=last), "run_id": f"run-{last}", "kind": "drift",
         "metric": "psi", "column_name": "state", "value": 0.41, "expected": 0.2, "score": 2.05,
         "message": f"state drifted: new category 'paused' (seen with {EMAIL})"},
    ]  # fmt: skip
    with warehouse.begin() as conn:
        conn.execute(metrics.insert(), rows)
        conn.execute(
            tables.findings.insert(),
            [{**f, "vendor": VENDOR, "connection": SHOP, "entity": "customers"} for f in findings],
        )


def quarantine(warehouse: Warehouse, entity: str, records: list[RejectedRecord]) -> None:
    """`records` quarantined by a sync of `entity` of the test shop."""
    ensure_bookkeeping(warehouse)
    with warehouse.begin() as conn:
        quarantine_records(
            conn, warehouse.dialect, records, tenant=SHOP, entity=entity, run_id="run-q"
        )


def rejected(record: dict[str, Any], *reasons: str) -> RejectedRecord:
    return RejectedRecord(record, reasons, record["id"].rsplit("/", 1)[-1])
