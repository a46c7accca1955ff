"""What the status page shows of each row, as strings: the page and `/status.json` both
carry them, so the page's self-refresh only copies text and never formats anything itself.

Error messages are masked again here (`mask_personal`), on top of the masking when they were
recorded: sync state written by an older version, or by hand, must not show personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integration_assets.monitoring.format import ago, duration, short, speed
from integration_assets.monitoring.links import run_url
from integration_assets.monitoring.status import EntityStatus
from integration_assets.sync.failure import mask_personal

ERROR_LIMIT = 120


def display(row: EntityStatus, now: datetime, dagster_ui: str) -> dict[str, str]:
    """The text of each cell (and the link of the error's run, '' when none)."""
    age = (now - row.last_success_at).total_seconds() if row.last_success_at else None
    error = mask_personal(row.last_error) if row.last_error else None
    error_age = (now - row.last_error_at).total_seconds() if row.last_error_at else None
    return {
        "status": row.status,
        "status_title": f"run {row.running_run_id}" if row.running_run_id else "",
        "last_success": ago(age),
        "last_success_title": row.last_success_at.isoformat() if row.last_success_at else "",
        "lag": duration(row.lag_seconds),
        "records_per_second": speed(row.records_per_second),
        "inbox_depth": str(row.inbox_depth),
        "error": short(error, ERROR_LIMIT) if error else "-",
        "error_title": error or "",
        "error_when": ago(error_age) if error else "",
        "error_run": row.last_error_run_id or "",
        "error_run_url": run_url(dagster_ui, row.last_error_run_id)
        if error and row.last_error_run_id
        else "",
        "running_run": row.running_run_id or "",
    }


def status_document(rows: list[EntityStatus], now: datetime, dagster_ui: str) -> dict[str, Any]:
    """The body of `/status.json`."""
    return {
        "generated_at": now.isoformat(),
        "rows": [
            {
                **row.to_json(now),
                "last_error": mask_personal(row.last_error) if row.last_error else None,
                "display": display(row, now, dagster_ui),
            }
            for row in rows
        ],
    }
