"""Knobs of one extract run, with defaults that suit the vendors' published limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import PackageNotFoundError, version

from integration_assets.extract.retry import BackoffPolicy
from integration_assets.retry_budget import DEFAULT_BUDGET


def _package_version() -> str:
    try:
        return version("integration_assets")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


DEFAULT_USER_AGENT = f"integration-assets/{_package_version()}"


@dataclass(frozen=True)
class ExtractSettings:
    """How one stream talks to the vendor.

    `backoff_base` and `backoff_cap` are seconds (full-jitter exponential backoff).
    `timeout_seconds` None means the connection's `timeout_seconds`. `page_size` None means the
    entity's page size, else the paginator's; it may not exceed the vendor's maximum.
    A `Retry-After` longer than `max_retry_after_seconds` fails the run with a clear error
    rather than silently sleeping for an hour inside a Dagster step. No retry of a page starts
    more than `page_deadline_seconds` after its first attempt. Defaults: `retry_budget.py`.
    `today` is the day the API version's lifecycle is judged on (None: today, UTC).
    """

    timeout_seconds: float | None = None
    max_attempts: int = DEFAULT_BUDGET.http_max_attempts
    backoff_base: float = DEFAULT_BUDGET.http_backoff_base_seconds
    backoff_cap: float = DEFAULT_BUDGET.http_backoff_cap_seconds
    malformed_retries: int = 2
    max_retry_after_seconds: float = DEFAULT_BUDGET.http_max_retry_after_seconds
    page_deadline_seconds: float = DEFAULT_BUDGET.http_page_deadline_seconds
    page_size: int | None = None
    user_agent: str = field(default=DEFAULT_USER_AGENT)
    today: date | None = None
    export_poll_interval_seconds: float | None = None
    """First pause between polls of an asynchronous export; None: the connector's."""
    export_deadline_seconds: float | None = None
    """How long one asynchronous export may take; None: the connector's `deadline_seconds`."""
    export_page_records: int | None = None
    """Reassembled export records per landed page; None: the connector's `page_records`."""

    def backoff(self) -> BackoffPolicy:
        return BackoffPolicy(
            base_seconds=self.backoff_base,
            cap_seconds=self.backoff_cap,
            max_attempts=self.max_attempts,
            malformed_retries=self.malformed_retries,
        )
