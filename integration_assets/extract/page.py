"""What a stream yields (`Page`) and what it counts while doing so (`ExtractStats`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Page:
    """One page as the vendor sent it.

    `body` is the raw response body, for landing to keep byte for byte (so a mapping fix can be
    replayed without calling the vendor); `records` are the parsed objects at the entity's
    records path. `url` is redacted, safe to log and store.
    """

    number: int
    url: str
    status: int
    body: bytes
    records: list[dict[str, Any]]
    fetched_at: datetime
    attempts: int = 1
    next_url: str | None = None
    last: bool = False


@dataclass
class ExtractStats:
    """Counters for one stream; `retries` counts every attempt after a page's first.

    `rate_limit_wait_seconds` is time spent waiting for the shared budget (proactive pacing);
    `retry_wait_seconds` is time spent backing off or honouring Retry-After after a failure.
    `warnings` are things a person should act on though the walk succeeded (an API version
    near or past its end of support, the vendor flagging deprecated use or serving another
    version than asked for), each once, free of secrets. `served_version` is the version the
    vendor said it served, when it says.
    """

    pages: int = 0
    records: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    timeouts: int = 0
    connection_errors: int = 0
    malformed: int = 0
    bytes: int = 0
    rate_limit_wait_seconds: float = 0.0
    retry_wait_seconds: float = 0.0
    seconds: float = 0.0
    served_version: str | None = None
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Record `message` once, however many pages repeat it."""
        if message not in self.warnings:
            self.warnings.append(message)

    def as_dict(self) -> dict[str, float | int | str | list[str] | None]:
        """Plain values, ready for Dagster metadata or a log line."""
        return asdict(self)
