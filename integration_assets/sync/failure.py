"""Recording a failed run without hiding why it failed.

When a step fails, its run is marked `failed` in sync state. But the failure is often the
warehouse itself (the database went down, the disk filled up, the file turned read-only), and
then marking the status fails too. The user must still see the ORIGINAL error, which names
the real cause; the secondary one is only logged, by class and the warehouse's address
(password hidden), never its message, which may quote SQL parameters, i.e. synced data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from integration_assets.load.warehouse import Warehouse

logger = logging.getLogger("integration_assets.sync")

MAX_MESSAGE = 1000
_EMAIL = re.compile(r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;:]+")
_PHONE = re.compile(r"\+\d[\d ().-]{6,}\d")


def mask_personal(text: str) -> str:
    """`text` with email addresses and international phone numbers replaced by placeholders."""
    return _PHONE.sub("<phone>", _EMAIL.sub("<email>", text))


def failure_message(exc: BaseException) -> str:
    """What sync state keeps of a failure: `Class: message`, shortened, personal data masked.

    The stages' messages already hold no secrets (URLs redacted, vendor text scrubbed, no
    row values in database errors); an email or phone number quoted in one (a vendor's error
    text about a record) is still masked here, because monitoring shows it on every screen.
    """
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = mask_personal(text)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


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
