"""API version lifecycles: when a vendor's version was released, until when it is supported.

Vendors version their APIs by date and publish how long each version lives. A sync pinned to
a version that the vendor has retired does not fail loudly: Shopify answers a request for a
version it no longer supports with its oldest supported one ("falls forward"), so the
records change shape on a day nobody chose. Klaviyo retires a revision two years after its
release. This module turns each vendor's published schedule (a `VersionPolicy`, data in the
connector spec) into dates and a status, so `doctor`, `validate-mappings` and every sync can
say so before the vendor does.

Dates are days (UTC). Shopify releases at 17:00 UTC on the first day of a quarter, so on a
release day the new version counts as released a few hours early; nothing here depends on
that precision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from integration_assets.connectors.spec import ConnectorSpec

Status = Literal["current", "supported", "deprecated", "retired", "unknown"]
NEAR_END_DAYS = 90
"""How long before the end of support `doctor` and syncs start warning."""

_SCHEMES = {
    "year_month": (re.compile(r"^(\d{4})-(\d{2})$"), "YYYY-MM"),
    "date": (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "YYYY-MM-DD"),
}


class VersionPolicy(BaseModel):
    """A vendor's published version schedule and where the version travels, as data.

    - `scheme`: how a version is written: `year_month` (Shopify `2026-10`, released on the
      first of that month) or `date` (Klaviyo `2026-10-15`, released that day).
    - `release_months`: the only months a version can be released in (Shopify's quarters:
      1, 4, 7, 10); None when any month is possible.
    - `cadence_months`: how often a new version comes out; a version is `current` until the
      next one is due, then merely `supported`.
    - `deprecated_after_months`: when the vendor formally deprecates a version (Klaviyo:
      after its first, stable year); None when it has no such phase (Shopify).
    - `retired_after_months`: when the vendor stops serving it (Shopify: 12, "supported for a
      minimum of 12 months"; Klaviyo: 24, "retired two years after release").
    - `placement` and `header`: where the version goes in a request: a path segment (the
      spec's `api_prefix` holds `{version}`) or the named request header (whose value in the
      spec's `headers` is `{version}`).
    - `served_version_header`: the answer's header naming the version actually served
      (Shopify `X-Shopify-API-Version`); differing from the one asked for means the vendor
      fell forward. `deprecation_header`: the answer's header flagging deprecated use
      (Shopify `X-Shopify-API-Deprecated-Reason`). None when the vendor sends none (Klaviyo
      documents no such header: its sunset is computed from the revision date).
    - `falls_forward`: the vendor answers a retired version with its oldest supported one
      instead of refusing it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: Literal["year_month", "date"]
    release_months: tuple[int, ...] | None = None
    cadence_months: int = Field(gt=0)
    deprecated_after_months: int | None = Field(default=None, gt=0)
    retired_after_months: int = Field(gt=0)
    placement: Literal["path", "header"]
    header: str | None = None
    served_version_header: str | None = None
    deprecation_header: str | None = None
    falls_forward: bool = False
    docs_url: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> VersionPolicy:
        if self.placement == "header" and not self.header:
            raise ValueError("a version carried in a header needs the header's name")
        if self.release_months is not None and not all(
            1 <= month <= 12 for month in self.release_months
        ):
            raise ValueError("release_months must be months 1-12")
        deprecated = self.deprecated_after_months
        if deprecated is not None and deprecated >= self.retired_after_months:
            raise ValueError("a version must be deprecated before it is retired")
        return self

    @property
    def pattern(self) -> str:
        """How a version looks, for error messages."""
        shape = _SCHEMES[self.scheme][1]
        if self.release_months:
            months = ", ".join(f"{month:02d}" for month in self.release_months)
            return f"{shape} with MM one of {months}"
        return shape

    def released(self, version: str) -> date | None:
        """The release day a version string names, or None if it is not one of this vendor's."""
        regex, _ = _SCHEMES[self.scheme]
        match = regex.match(version)
        if match is None:
            return None
        year, month, *rest = (int(part) for part in match.groups())
        if self.release_months is not None and month not in self.release_months:
            return None
        try:
            return date(year, month, rest[0] if rest else 1)
        except ValueError:
            return None

    def check_format(self, version: str) -> None:
        """Raise ValueError naming the expected shape unless `version` is well formed."""
        if self.released(version) is None:
            raise ValueError(f"{version!r} is not a version of this API (expected {self.pattern})")


class SupportWindow(NamedTuple):
    """The life of one version: released, fully supported until, no longer served from.

    `supported_until` is the first day of reduced support: deprecated (Klaviyo) or retired
    (Shopify, which has no deprecated phase, so both dates are the same).
    """

    released: date
    supported_until: date
    retired_after: date


@dataclass(frozen=True)
class VersionCheck:
    """The status of one version on one day, with the reason a person reads."""

    vendor: str
    version: str
    status: Status
    reason: str
    window: SupportWindow | None

    @property
    def is_error(self) -> bool:
        """Retired (the vendor serves something else) or not a version the vendor serves."""
        return self.status in ("retired", "unknown")


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def policy_of(spec: ConnectorSpec) -> VersionPolicy:
    """The spec's version policy; ValueError for a vendor that declares none."""
    if spec.version_policy is None:
        raise ValueError(f"{spec.vendor} declares no API version policy")
    return spec.version_policy


def support_window(spec: ConnectorSpec, version: str) -> SupportWindow:
    """When `version` of the vendor was released, deprecated or retired (ValueError if malformed)."""
    policy = policy_of(spec)
    released = policy.released(version)
    if released is None:
        raise ValueError(
            f"{spec.vendor}: {version!r} is not an API version (expected {policy.pattern})"
        )
    retired = add_months(released, policy.retired_after_months)
    months = policy.deprecated_after_months
    supported_until = add_months(released, months) if months is not None else retired
    return SupportWindow(released, supported_until, retired)


def oldest_supported(spec: ConnectorSpec, today: date) -> str | None:
    """The oldest version still served on `today`, for vendors with fixed release months.

    That is what a vendor that falls forward answers a retired version with. None when
    releases follow no fixed calendar (the versions that exist cannot be computed).
    """
    policy = policy_of(spec)
    if policy.release_months is None or policy.scheme != "year_month":
        return None
    earliest = add_months(today, -policy.retired_after_months)
    year, month = earliest.year, earliest.month
    while True:
        candidate = date(year, month, 1)
        if month in policy.release_months and candidate > earliest:
            return f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def version_status(spec: ConnectorSpec, version: str, today: date) -> VersionCheck:
    """Where `version` is in its life on `today`: current, supported, deprecated or retired.

    `unknown` for a string that is not one of the vendor's versions, or one not released
    yet: the vendor serves neither as asked.
    """
    policy = policy_of(spec)
    vendor = spec.vendor

    def check(status: Status, reason: str, window: SupportWindow | None = None) -> VersionCheck:
        return VersionCheck(vendor, version, status, reason, window)

    try:
        window = support_window(spec, version)
    except ValueError:
        return check("unknown", f"not a {vendor} API version (expected {policy.pattern})")
    released, supported_until, retired = window
    if today < released:
        return check("unknown", f"not released until {released}", window)
    if today >= retired:
        reason = f"retired on {retired}"
        fallback = oldest_supported(spec, today) if policy.falls_forward else None
        if fallback:
            reason += f"; {spec.title} answers with its oldest supported version, {fallback}"
        return check("retired", reason, window)
    phased = policy.deprecated_after_months is not None
    if phased and today >= supported_until:
        return check(
            "deprecated", f"deprecated since {supported_until}, retires on {retired}", window
        )
    until = (
        f"stable until {supported_until}, retired from {retired}"
        if phased
        else f"supported until {retired}"
    )
    if today < add_months(released, policy.cadence_months):
        return check("current", f"the newest release, {until}", window)
    return check("supported", until, window)


def lifecycle_warning(
    spec: ConnectorSpec, version: str, today: date, near_days: int = NEAR_END_DAYS
) -> str | None:
    """A warning when `version` is retired, deprecated, unknown or near a change; else None.

    "Near" is within `near_days` of the version's next step down: its deprecation (Klaviyo)
    or its retirement.
    """
    result = version_status(spec, version, today)
    label = f"{spec.vendor} API version {version}"
    advice = _advice(spec, version, today)
    if result.status == "retired":
        return f"{label} was {result.reason}{advice}"
    if result.status == "deprecated":
        return f"{label} is {result.reason}{advice}"
    if result.status == "unknown":
        return f"{label} is unknown: {result.reason}{advice}"
    assert result.window is not None
    _, supported_until, retired = result.window
    if supported_until != retired:
        left = (supported_until - today).days
        if left <= near_days:
            return (
                f"{label} becomes deprecated in {left} days (on {supported_until}) and retires "
                f"on {retired}{advice}"
            )
        return None
    left = (retired - today).days
    if left <= near_days:
        return f"{label} is supported for {left} more days (until {retired}){advice}"
    return None


def _advice(spec: ConnectorSpec, version: str, today: date) -> str:
    """What to move to: the spec's default version, when that one is in good standing."""
    if spec.version is None or spec.version == version:
        return ""
    if version_status(spec, spec.version, today).status in ("current", "supported"):
        return f"; move to {spec.version}"
    return ""


def run_lifecycle_warning(
    spec: ConnectorSpec, version: str | None, today: date | None = None
) -> str | None:
    """What a run should warn of the version it speaks, judged `today` (default: the real
    date); None for a vendor without versions or a version in good standing."""
    if spec.version_policy is None or version is None:
        return None
    return lifecycle_warning(spec, version, today or datetime.now(UTC).date())
