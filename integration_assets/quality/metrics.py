"""The quality history tables in the warehouse (bookkeeping schema, history kept).

- `quality_metrics`: one row per scope and sync: `scope` is `sync` (one (connection, entity)
  run: counts, pass rate, the five dimension scores, the overall score, the profile and top
  failures in `details`), `connection` (every entity of a connection, as of that sync) or
  `integration` (every connection of a vendor, as of that sync). The console's `/quality`
  page and the anomaly baselines read it.
- `quality_findings`: the anomalies and drift each sync found, one row per finding.

Writing and reading them lives in `quality/store.py`; this module only defines them, so
the console and the Dagster wiring read the same columns.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)

from integration_assets.load.bookkeeping import bookkeeping_table
from integration_assets.load.types import JsonDocument, UtcDateTime
from integration_assets.load.warehouse import Dialect

SCOPE_SYNC = "sync"
SCOPE_CONNECTION = "connection"
SCOPE_INTEGRATION = "integration"
SCORE_COLUMNS = ("completeness", "validity", "consistency", "accuracy", "timeliness", "overall")


class QualityTables:
    """The two tables on one dialect, in their own `MetaData` (pass it to
    `ensure_bookkeeping(warehouse, tables.metadata)`)."""

    def __init__(self, metadata: MetaData, metrics: Table, findings: Table) -> None:
        self.metadata = metadata
        self.metrics = metrics
        self.findings = findings


@cache
def quality_tables(dialect: Dialect) -> QualityTables:
    metadata = MetaData()
    id_type = Integer if dialect == "sqlite" else BigInteger
    metrics = bookkeeping_table(
        metadata,
        dialect,
        "quality_metrics",
        Column("id", id_type, primary_key=True, autoincrement=True),
        Column("measured_at", UtcDateTime, nullable=False),
        Column("scope", Text, nullable=False),
        Column("vendor", Text, nullable=False),
        Column("connection", Text, nullable=True),
        Column("entity", Text, nullable=True),
        Column("run_id", Text, nullable=True),
        Column("records", BigInteger, nullable=False),
        Column("passed", BigInteger, nullable=False),
        Column("pass_rate", Double, nullable=False),
        Column("threshold", Double, nullable=True),
        Column("gate_passed", Boolean, nullable=True),
        *(Column(name, Double, nullable=name != "overall") for name in SCORE_COLUMNS),
        Column("details", JsonDocument, nullable=True),
        Index("integration_quality_metrics_scope", "scope", "vendor", "connection", "entity"),
        Index("integration_quality_metrics_measured_at", "measured_at"),
    )
    findings = bookkeeping_table(
        metadata,
        dialect,
        "quality_findings",
        Column("id", id_type, primary_key=True, autoincrement=True),
        Column("measured_at", UtcDateTime, nullable=False),
        Column("run_id", Text, nullable=False),
        Column("vendor", Text, nullable=False),
        Column("connection", Text, nullable=False),
        Column("entity", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("metric", Text, nullable=False),
        Column("column_name", Text, nullable=True),
        Column("value", Double, nullable=False),
        Column("expected", Double, nullable=True),
        Column("score", Double, nullable=False),
        Column("message", Text, nullable=False),
        Index("integration_quality_findings_where", "connection", "entity", "measured_at"),
    )
    return QualityTables(metadata, metrics, findings)
