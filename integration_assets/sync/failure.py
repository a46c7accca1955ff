"""Recording a failed run without hiding why it failed.

When a step fails, its run is marked `failed` in sync state. But the failure is often the
warehouse itself (the database went down, the disk filled up, the file turned read-only), and
then marking the status fails too. The user must still see the ORIGINAL error, which names
the real cause; the secondary one is only logged, by class and the warehouse's address
(password hidden), never its message, which may quote SQL parameters, i.e. synced data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from integration_assets.load.warehouse import Warehouse

logger = logging.getLogger("integration_assets.sync")


def record_failure_quietly(warehouse: Warehouse, record: Callable[[], None], step: str) -> None:
    """Call `record()` (which marks the run failed); if that raises, log it and carry on.

    Called from an `except` block that re-raises the step's own error afterwards.
    """
    try:
        record()
    except Exception as secondary:
        logger.warning(
            "the %s step failed, and marking the run failed in %s failed as well (%s); "
            "the step's own error follows",
            step,
            warehouse.describe(),
            type(secondary).__name__,
        )
