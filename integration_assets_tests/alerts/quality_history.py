"""Writes syncs into the real quality tables (`quality/metrics.py`), as the quality stage does
after each sync: one `sync` row of `quality_metrics`, and its findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy import insert

from integration_assets.load.bookkeeping import ensure_bookkeeping
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.metrics import SCOPE_CONNECTION, SCOPE_SYNC, quality_tables
from integration_assets.quality.model import Finding

START = datetime(2026, 11, 1, tzinfo=UTC)


class QualityHistory:
    def __init__(self, warehouse: Warehouse, connection: str = "demo-shop") -> None:
        self.warehouse = warehouse
        self.connection = connection
        self.tables = quality_tables(warehouse.dialect)
        ensure_bookkeeping(warehouse, self.tables.metadata)
        self._runs = count(1)

    def sync(
        self,
        entity: str = "customers",
        *,
        overall: float = 96.0,
        records: int = 620,
        passed: int = 610,
        threshold: float = 0.95,
        findings: tuple[Finding, ...] = (),
        scope: str = SCOPE_SYNC,
        at: datetime | None = None,
    ) -> str:
        """Record one sync of `entity` (measured `at`, else an hour after the previous one);
        its run id."""
        n = next(self._runs)
        run_id = f"run-{n:03d}"
        at = at or START + timedelta(hours=n)
        pass_rate = passed / records
        failures = [{"check": "email", "column": "email", "count": records - passed}]
        with self.warehouse.begin() as conn:
            conn.execute(
                insert(self.tables.metrics).values(
                    measured_at=at,
                    scope=scope,
                    vendor="shopify",
                    connection=self.connection,
                    entity=entity if scope == SCOPE_SYNC else None,
                    run_id=run_id,
                    records=records,
                    passed=passed,
                    pass_rate=pass_rate,
                    threshold=threshold,
                    gate_passed=pass_rate >= threshold,
                    completeness=99.0,
                    validity=overall,
                    consistency=99.0,
                    accuracy=None,
                    timeliness=100.0,
                    overall=overall,
                    details={"failures": failures if records > passed else []},
                )
            )
            for finding in findings:
                conn.execute(
                    insert(self.tables.findings).values(
                        measured_at=at,
                        run_id=run_id,
                        vendor="shopify",
                        connection=self.connection,
                        entity=entity,
                        kind=finding.kind.value,
                        metric=finding.metric,
                        column_name=finding.column,
                        value=finding.value,
                        expected=finding.expected,
                        score=finding.score,
                        message=finding.message,
                    )
                )
        return run_id

    def connection_rollup(self) -> str:
        """A `connection` scope row (every entity as of a sync): never judged on its own."""
        return self.sync(scope=SCOPE_CONNECTION, overall=10.0, passed=10)
