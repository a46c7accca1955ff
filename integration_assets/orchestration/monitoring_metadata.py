"""The numbers a sync publishes on its asset materialization for the Dagster UI to plot.

The UI plots numeric metadata of an asset's materializations over time, per partition (a
connection): so each is a plain int or float, and a number that is unknown this time (no
cursor field, hence no lag) is left out rather than published as text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import MetadataValue

from integration_assets.sync.steps import LoadResult
from integration_assets.timestamps import parse_instant


def monitoring_metadata(
    loaded: LoadResult, inbox_depth: int, now: datetime | None = None
) -> dict[str, object]:
    """`records_per_second`, `inbox_depth` and, when known, `sync_lag_seconds` and
    `newest_source_at` (as a timestamp)."""
    metadata: dict[str, object] = {
        "records_per_second": float(loaded.records_per_second),
        "inbox_depth": int(inbox_depth),
    }
    newest = parse_instant(loaded.newest_source_at)
    if newest is not None:
        lag = ((now or datetime.now(UTC)) - newest).total_seconds()
        metadata["sync_lag_seconds"] = round(max(lag, 0.0), 1)
        metadata["newest_source_at"] = MetadataValue.timestamp(newest)
    return metadata
