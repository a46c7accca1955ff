"""`integration-assets status` as a terminal table: one line per (connection, entity)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from integration_assets.monitoring.format import ago, duration, short, speed
from integration_assets.monitoring.status import EntityStatus

HEADERS = (
    "connection",
    "entity",
    "status",
    "last success",
    "lag",
    "records/s",
    "inbox",
    "last error",
)
MARKS = {"ok": "✔", "running": "…", "failing": "✘", "late": "⚠"}


def _cells(row: EntityStatus, now: datetime) -> tuple[str, ...]:
    age = (now - row.last_success_at).total_seconds() if row.last_success_at else None
    error = "-"
    if row.last_error:
        when = ago((now - row.last_error_at).total_seconds()) if row.last_error_at else "?"
        error = f"{short(row.last_error)} ({when})"
    return (
        row.connection,
        row.entity,
        f"{MARKS[row.status]} {row.status}",
        ago(age),
        duration(row.lag_seconds),
        speed(row.records_per_second),
        str(row.inbox_depth),
        error,
    )


def render_table(rows: Sequence[EntityStatus], now: datetime) -> str:
    """Aligned columns under a header; the last column is left ragged."""
    lines = [HEADERS, *(_cells(row, now) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS) - 1)]
    right = {4, 5, 6}
    out = []
    for line in lines:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(line[:-1])
        ]
        out.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(out)


def summary(rows: Sequence[EntityStatus]) -> str:
    """`4 ok, 1 failing` in the order of severity shown by the table's marks."""
    counts = {status: sum(r.status == status for r in rows) for status in MARKS}
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "nothing configured"
