"""Switchable misbehaviour, decided deterministically so a failing test fails the same way twice.

Each vendor request gets a sequence number; whether it answers 5xx or stalls is a pure function
of (fault seed, number), and the numbering restarts whenever the settings change. Faults never
touch the data: pagination is keyed by cursor, so a request that failed or timed out can simply
be repeated and gets the page it should have got.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from integration_assets.sandbox.rand import draw, salt, unit

MalformedMode = Literal["once", "always"]


@dataclass(frozen=True)
class MalformedPage:
    """Serve page number `page` (1 = first) of `entity` as truncated JSON with status 200.

    `once` corrupts only the first time that page is served (a retry succeeds); `always`
    corrupts it every time (a sync must give up loudly rather than skip it).
    """

    entity: str
    page: int = 1
    mode: MalformedMode = "once"


BulkErrorCode = Literal["INTERNAL_SERVER_ERROR", "TIMEOUT", "ACCESS_DENIED"]


@dataclass(frozen=True)
class BulkFailure:
    """Bulk query operations started while set fail with `error_code` (Shopify's
    BulkOperationErrorCode) once they have written `after_objects` lines; what was written
    by then is offered at `partialDataUrl` (none when nothing was)."""

    error_code: BulkErrorCode = "INTERNAL_SERVER_ERROR"
    after_objects: int = 0


@dataclass(frozen=True)
class DownloadCut:
    """Bulk result downloads drop the connection after `after_bytes` bytes of the body.

    `once` cuts only the first download of each file (a retry succeeds); `always` cuts every
    download (a client must give up loudly rather than keep a truncated file).
    """

    after_bytes: int = 1024
    mode: MalformedMode = "once"


@dataclass(frozen=True)
class FaultSettings:
    """Every fault switch of one simulator; the defaults mean 'behave'."""

    error_rate: float = 0.0
    """Fraction of requests answered with one of `error_statuses`."""
    error_statuses: tuple[int, ...] = (500, 502, 503)
    timeout_rate: float = 0.0
    """Fraction of requests answered only after `timeout_seconds` (asyncio.sleep)."""
    timeout_seconds: float = 10.0
    malformed_page: MalformedPage | None = None
    duplicate_across_pages: bool = False
    """Repeat the last record of a page as the first record of the next page."""
    type_drift: float = 0.0
    """Fraction of records whose drift field changes type (e.g. `verified_email: "yes"`)."""
    rate_limits: bool = True
    graphql_error_rate: float = 0.0
    """Fraction of Shopify GraphQL answers that come back 200 with `data: null` and an
    INTERNAL_SERVER_ERROR in `errors` (Shopify's "Internal error. Looks like something went
    wrong on our end.")."""
    graphql_throttled_rate: float = 0.0
    """Fraction of Shopify GraphQL requests answered THROTTLED whatever the bucket holds."""
    deprecated_reason: str | None = None
    """When set, every Shopify answer (REST and GraphQL) carries
    `X-Shopify-API-Deprecated-Reason` with this value (a URL), as for a deprecated version."""
    bulk_failure: BulkFailure | None = None
    """Shopify only: bulk query operations end FAILED with an errorCode (see BulkFailure)."""
    bulk_download_cut: DownloadCut | None = None
    """Shopify only: bulk result downloads are cut mid-stream (see DownloadCut)."""
    seed: int = 0

    def with_changes(self, **changes: Any) -> FaultSettings:
        """A copy with the given switches changed; accepts JSON-shaped values too."""
        known = {item.name for item in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault switch(es): {', '.join(sorted(unknown))}")
        coerced: dict[str, Any] = {}
        for name, value in changes.items():
            coerced[name] = _coerce(name, value)
        return replace(self, **coerced)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        body = asdict(self)
        body["error_statuses"] = list(self.error_statuses)
        return body


def _coerce(name: str, value: Any) -> Any:
    if name in {
        "error_rate",
        "timeout_rate",
        "type_drift",
        "graphql_error_rate",
        "graphql_throttled_rate",
    }:
        number = 1.0 if value is True else 0.0 if value in (False, None) else float(value)
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"{name} must be within [0, 1], got {value!r}")
        return number
    if name == "timeout_seconds":
        return float(value)
    if name == "error_statuses":
        statuses = tuple(int(status) for status in value)
        if not statuses or any(not 500 <= status <= 599 for status in statuses):
            raise ValueError("error_statuses must be a non-empty list of 5xx codes")
        return statuses
    if name == "malformed_page":
        if value is None or isinstance(value, MalformedPage):
            return value
        page = MalformedPage(**value)
        if page.mode not in ("once", "always") or page.page < 1:
            raise ValueError(f"invalid malformed_page: {value!r}")
        return page
    if name == "bulk_failure":
        if value is None or isinstance(value, BulkFailure):
            return value
        failure = BulkFailure(**value)
        if failure.error_code not in ("INTERNAL_SERVER_ERROR", "TIMEOUT", "ACCESS_DENIED"):
            raise ValueError(f"invalid bulk_failure error_code: {failure.error_code!r}")
        if failure.after_objects < 0:
            raise ValueError(f"invalid bulk_failure: {value!r}")
        return failure
    if name == "bulk_download_cut":
        if value is None or isinstance(value, DownloadCut):
            return value
        cut = DownloadCut(**value)
        if cut.mode not in ("once", "always") or cut.after_bytes < 0:
            raise ValueError(f"invalid bulk_download_cut: {value!r}")
        return cut
    if name in {"duplicate_across_pages", "rate_limits"}:
        return bool(value)
    if name == "seed":
        return int(value)
    if name == "deprecated_reason":
        return None if value in (None, "") else str(value)
    return value


@dataclass(frozen=True)
class RequestFault:
    """What the fault engine decided for one request."""

    status: int | None = None
    delay: float | None = None


class FaultEngine:
    """Turns the settings into per-request and per-page decisions."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.settings = settings or FaultSettings()
        self._restart()

    def configure(self, settings: FaultSettings) -> None:
        """Adopt new settings; numbering restarts so the fault pattern is reproducible."""
        self.settings = settings
        self._restart()

    def _restart(self) -> None:
        self._number = 0
        self._malformed_served: set[tuple[str, int]] = set()
        self._error_key = salt(self.settings.seed, "faults.error")
        self._timeout_key = salt(self.settings.seed, "faults.timeout")
        self._drift_key = salt(self.settings.seed, "faults.drift")
        self._graphql_error_key = salt(self.settings.seed, "faults.graphql_error")
        self._graphql_throttle_key = salt(self.settings.seed, "faults.graphql_throttle")

    def next_request(self) -> RequestFault:
        """Decide whether the next vendor request errors or stalls."""
        self._number += 1
        settings = self.settings
        status = None
        if settings.error_rate and unit(draw(self._error_key, self._number)) < settings.error_rate:
            choice = draw(self._error_key, self._number, 1)
            status = settings.error_statuses[choice % len(settings.error_statuses)]
        delay = None
        if (
            settings.timeout_rate
            and unit(draw(self._timeout_key, self._number)) < settings.timeout_rate
        ):
            delay = settings.timeout_seconds
        return RequestFault(status, delay)

    def graphql_error(self) -> bool:
        """Whether the current request's GraphQL answer is an error inside a 200."""
        rate = self.settings.graphql_error_rate
        return bool(rate) and unit(draw(self._graphql_error_key, self._number)) < rate

    def graphql_throttled(self) -> bool:
        """Whether the current GraphQL request is throttled whatever its bucket holds."""
        rate = self.settings.graphql_throttled_rate
        return bool(rate) and unit(draw(self._graphql_throttle_key, self._number)) < rate

    def malformed(self, entity: str, page: int) -> bool:
        """Whether this serving of page `page` of `entity` must be truncated."""
        target = self.settings.malformed_page
        if target is None or target.entity != entity or target.page != page:
            return False
        if target.mode == "always":
            return True
        if (entity, page) in self._malformed_served:
            return False
        self._malformed_served.add((entity, page))
        return True

    def drifts(self, entity: str, index: int) -> bool:
        """Whether record `index` of `entity` is served with its drift field's type changed."""
        rate = self.settings.type_drift
        if not rate:
            return False
        return rate >= 1.0 or unit(draw(self._drift_key ^ salt(0, entity), index)) < rate
