"""The console's knobs, and the one error for a console that cannot start."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""Klaviyo batches events in one request and Shopify order bodies grow with line items; 4 MiB
is far above both and still small enough to refuse a flood early."""
DEFAULT_TIMESTAMP_TOLERANCE_SECONDS = 300
DEFAULT_STATUS_REFRESH_SECONDS = 5


class ConsoleConfigError(ValueError):
    """The console cannot serve as configured (the message names env vars, never values)."""


@dataclass(frozen=True)
class ConsoleSettings:
    """`timestamp_tolerance_seconds`: how far a delivery's timestamp may be from our clock.

    A vendor whose timestamp is the moment of the change, repeated on every retry
    (Shopify's `X-Shopify-Triggered-At`), additionally gets its documented retry window:
    refusing a legitimate retry would lose the event and, after enough failures, the
    subscription (see `connectors/webhooks.py`).
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    timestamp_tolerance_seconds: int = DEFAULT_TIMESTAMP_TOLERANCE_SECONDS
    status_refresh_seconds: int = DEFAULT_STATUS_REFRESH_SECONDS
    """How often the status page fetches `/status.json` again."""

    def __post_init__(self) -> None:
        if self.max_body_bytes <= 0:
            raise ConsoleConfigError("max_body_bytes must be positive")
        if self.timestamp_tolerance_seconds < 0:
            raise ConsoleConfigError("timestamp_tolerance_seconds must not be negative")
        if self.status_refresh_seconds < 1:
            raise ConsoleConfigError("status_refresh_seconds must be at least 1")
