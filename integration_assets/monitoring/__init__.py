"""Sync monitoring: per (connection, entity), is it ok, running, failing or late, and how it
is doing (last success, lag, speed, last error, inbox depth).

Read from the warehouse's bookkeeping only, with no Dagster in sight, so the terminal
(`integration-assets status`), the console's status page and anything else show the same.
"""

from integration_assets.monitoring.status import EntityStatus, read_status

__all__ = ["EntityStatus", "read_status"]
