"""Which `revision` header values Klaviyo answers on a given day, and as which revision.

Klaviyo's API versioning and deprecation policy
(https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy):

* a revision is the ISO date of a release, passed in the `revision` header, and "must be a
  valid revision";
* each is supported for two years after its release, then retired;
* a retired revision "falls forward": the request is answered with the behaviour of the oldest
  revision not yet retired;
* with `X-Klaviyo-Revision-Fall-Forward-Opt-Out: 1`, "all requests to it will result in a 410
  error" instead.

The release dates are the GA revisions of Klaviyo's changelog (https://developers.klaviyo.com/
en/docs/changelog_) and of its OpenAPI repository's revision branches. Beta revisions (`.pre`)
are not simulated, so they are refused like any other value that is not a GA revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

GA_REVISIONS: tuple[date, ...] = tuple(
    date.fromisoformat(text)
    for text in (
        "2022-10-17",
        "2023-01-24",
        "2023-02-22",
        "2023-06-15",
        "2023-07-15",
        "2023-08-15",
        "2023-09-15",
        "2023-10-15",
        "2023-12-15",
        "2024-02-15",
        "2024-05-15",
        "2024-06-15",
        "2024-07-15",
        "2024-10-15",
        "2025-01-15",
        "2025-04-15",
        "2025-07-15",
        "2025-10-15",
        "2026-01-15",
        "2026-04-15",
        "2026-07-15",
        "2026-10-15",
    )
)
SUPPORT_YEARS = 2
FALL_FORWARD_OPT_OUT = "X-Klaviyo-Revision-Fall-Forward-Opt-Out"


def retires_on(revision: date) -> date:
    """The day a revision stops being supported: two years after its release."""
    return revision.replace(year=revision.year + SUPPORT_YEARS)


@dataclass(frozen=True)
class Served:
    """The revision a request is answered as (`fell_forward` when it named a retired one)."""

    revision: date
    fell_forward: bool = False


@dataclass(frozen=True)
class Refused:
    """Why a `revision` header is not answered: the HTTP status and the error's detail."""

    status: int
    code: str
    title: str
    detail: str


def resolve(header: str | None, today: date, opt_out: bool) -> Served | Refused:
    """How Klaviyo answers a request carrying `revision: header` on `today`."""
    if not header or not header.strip():
        return Refused(
            400,
            "invalid",
            "Invalid input.",
            "Missing `revision` header. Pass a revision such as `revision: 2026-10-15`.",
        )
    text = header.strip()
    released = [revision for revision in GA_REVISIONS if revision <= today]
    try:
        revision = date.fromisoformat(text)
    except ValueError:
        revision = None
    if revision is None or revision not in released or len(text) != 10:
        return Refused(
            400,
            "invalid",
            "Invalid input.",
            f"'{text}' is not a valid revision. Revisions are the release dates of Klaviyo's "
            f"API, such as '{released[-1].isoformat()}'.",
        )
    if retires_on(revision) > today:
        return Served(revision)
    supported = [candidate for candidate in released if retires_on(candidate) > today]
    if opt_out or not supported:
        return Refused(
            410,
            "gone",
            "Gone.",
            f"Revision {text} was retired on {retires_on(revision).isoformat()}. "
            f"Upgrade to a supported revision such as {released[-1].isoformat()}.",
        )
    return Served(min(supported), fell_forward=True)


LIFECYCLE_DAY = date(2026, 11, 30)
"""The day whose revision lifecycle the sandbox answers by.

Fixed, as `DEFAULT_START` fixes the data clock, so a run does not change behaviour on the day a
revision retires in the real world; tests pass another day to stage a retirement.
"""

SIMULATED = (date(2024, 10, 15), date(2026, 10, 15))
"""The oldest and newest revision whose Get Profiles and Get Events this sandbox answers."""

EVENTS_PAGE_SIZE_SINCE = date(2026, 1, 15)
"""Get Events takes `page[size]` (1-1,000, default 200) from this revision on; before, it
always answers 200 per page (Klaviyo SDK changelog 22.0.0 / OpenAPI `get_events`, 2026-01-15)."""
