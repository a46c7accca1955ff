"""What the simulator was asked, so tests can assert on a sync's traffic.

Every vendor request (not the `/_sandbox` control calls) is recorded with its path, query
parameters and final status. `RequestStats.count("customers.json")` answers questions such as
"did the incremental sync make only two requests to customers?".
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    """One vendor request as the simulator answered it."""

    method: str
    path: str
    params: dict[str, str]
    status: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "method": self.method,
            "path": self.path,
            "params": self.params,
            "status": self.status,
        }


def path_matches(path: str, wanted: str | None) -> bool:
    """Exact path, or a suffix after a slash (`customers.json` matches the full admin path)."""
    return wanted is None or path == wanted or path.endswith("/" + wanted.lstrip("/"))


@dataclass(frozen=True)
class RequestStats:
    """A snapshot of the request log and its counters."""

    total: int
    by_path: dict[str, int]
    by_status: dict[int, int]
    requests: list[LoggedRequest] = field(repr=False)

    def count(self, path: str | None = None, status: int | None = None) -> int:
        """Requests to `path` (exact or suffix) with `status`; None matches anything."""
        return sum(
            1
            for request in self.requests
            if path_matches(request.path, path) and (status is None or request.status == status)
        )

    def filter(self, path: str | None = None, status: int | None = None) -> list[LoggedRequest]:
        """The logged requests to `path` with `status`, oldest first."""
        return [
            request
            for request in self.requests
            if path_matches(request.path, path) and (status is None or request.status == status)
        ]

    def to_json(self, with_requests: bool = True) -> dict[str, Any]:
        """A JSON-ready copy (status keys become strings)."""
        body: dict[str, Any] = {
            "total": self.total,
            "by_path": self.by_path,
            "by_status": {str(status): count for status, count in self.by_status.items()},
        }
        if with_requests:
            body["requests"] = [request.to_json() for request in self.requests]
        return body


class RequestLog:
    """Bounded log plus unbounded counters of the vendor requests a simulator answered."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=max_entries)
        self._by_path: Counter[str] = Counter()
        self._by_status: Counter[int] = Counter()
        self._total = 0

    def record(self, method: str, path: str, params: dict[str, str], status: int) -> None:
        """Remember one answered request."""
        self._entries.append(LoggedRequest(method, path, params, status))
        self._by_path[path] += 1
        self._by_status[status] += 1
        self._total += 1

    def snapshot(self) -> RequestStats:
        """The counters and entries as they are now."""
        return RequestStats(
            self._total, dict(self._by_path), dict(self._by_status), list(self._entries)
        )

    def clear(self) -> None:
        """Forget everything (tests call this between stories)."""
        self._entries.clear()
        self._by_path.clear()
        self._by_status.clear()
        self._total = 0
