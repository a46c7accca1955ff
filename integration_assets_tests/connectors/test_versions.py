"""The vendors' published version schedules, turned into dates and statuses.

Shopify: a stable version each quarter, supported for 12 months, then answered with the oldest
supported one. Klaviyo: a revision is stable for a year, deprecated for a year, retired two
years after its release date.
"""

from __future__ import annotations

from datetime import date

import pytest

from integration_assets.connectors import get_connector
from integration_assets.connectors.spec import ConnectorSpec
from integration_assets.connectors.versions import (
    SupportWindow,
    add_months,
    lifecycle_warning,
    oldest_supported,
    support_window,
    version_status,
)

SHOPIFY = get_connector("shopify")
KLAVIYO = get_connector("klaviyo")
TODAY = date(2026, 11, 30)


def test_a_shopify_version_is_supported_for_twelve_months_after_its_quarter() -> None:
    assert support_window(SHOPIFY, "2025-10") == SupportWindow(
        released=date(2025, 10, 1),
        supported_until=date(2026, 10, 1),
        retired_after=date(2026, 10, 1),
    )
    assert version_status(SHOPIFY, "2025-10", date(2026, 9, 30)).status == "supported"
    assert version_status(SHOPIFY, "2025-10", date(2026, 10, 1)).status == "retired"


def test_a_klaviyo_revision_is_stable_a_year_deprecated_a_year_then_retired() -> None:
    released, deprecated, retired = support_window(KLAVIYO, "2024-10-15")

    assert (released, deprecated, retired) == (
        date(2024, 10, 15),
        date(2025, 10, 15),
        date(2026, 10, 15),
    )
    assert version_status(KLAVIYO, "2024-10-15", date(2025, 10, 14)).status == "supported"
    assert version_status(KLAVIYO, "2024-10-15", date(2025, 10, 15)).status == "deprecated"
    assert version_status(KLAVIYO, "2024-10-15", date(2026, 10, 14)).status == "deprecated"
    assert version_status(KLAVIYO, "2024-10-15", date(2026, 10, 15)).status == "retired"


@pytest.mark.parametrize(
    ("spec", "version", "status"),
    [
        (SHOPIFY, "2026-10", "current"),
        (SHOPIFY, "2026-07", "supported"),
        (SHOPIFY, "2026-01", "supported"),
        (SHOPIFY, "2025-10", "retired"),
        (SHOPIFY, "2027-01", "unknown"),  # the release candidate: not a stable release yet
        (SHOPIFY, "2026-11", "unknown"),  # no release in November
        (SHOPIFY, "unstable", "unknown"),
        (KLAVIYO, "2026-10-15", "current"),
        (KLAVIYO, "2026-07-15", "supported"),
        (KLAVIYO, "2025-10-15", "deprecated"),
        (KLAVIYO, "2024-10-15", "retired"),
        (KLAVIYO, "2026-02-30", "unknown"),
    ],
)
def test_status_on_the_last_day_of_november_2026(
    spec: ConnectorSpec, version: str, status: str
) -> None:
    assert version_status(spec, version, TODAY).status == status


def test_a_retired_shopify_version_says_which_version_answers_instead() -> None:
    check = version_status(SHOPIFY, "2024-10", TODAY)

    assert check.is_error
    assert check.reason == (
        "retired on 2025-10-01; Shopify answers with its oldest supported version, 2026-01"
    )
    assert oldest_supported(SHOPIFY, date(2026, 9, 30)) == "2025-10"
    assert oldest_supported(SHOPIFY, date(2026, 10, 1)) == "2026-01"
    assert oldest_supported(KLAVIYO, TODAY) is None  # revisions follow no fixed calendar


def test_an_unknown_version_names_the_expected_shape() -> None:
    assert version_status(SHOPIFY, "2026-1", TODAY).reason == (
        "not a shopify API version (expected YYYY-MM with MM one of 01, 04, 07, 10)"
    )
    with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
        support_window(KLAVIYO, "2026-10")


def test_warnings_come_for_the_end_of_support_and_for_what_is_already_gone() -> None:
    assert lifecycle_warning(SHOPIFY, "2026-10", TODAY) is None
    assert lifecycle_warning(SHOPIFY, "2026-07", TODAY) is None
    assert lifecycle_warning(SHOPIFY, "2026-01", TODAY) == (
        "shopify API version 2026-01 is supported for 32 more days (until 2027-01-01); "
        "move to 2026-10"
    )
    assert lifecycle_warning(SHOPIFY, "2025-10", TODAY) == (
        "shopify API version 2025-10 was retired on 2026-10-01; Shopify answers with its "
        "oldest supported version, 2026-01; move to 2026-10"
    )
    klaviyo = KLAVIYO.model_copy(update={"version": "2026-10-15"})
    assert lifecycle_warning(klaviyo, "2025-10-15", TODAY) == (
        "klaviyo API version 2025-10-15 is deprecated since 2026-10-15, retires on 2027-10-15; "
        "move to 2026-10-15"
    )
    assert lifecycle_warning(klaviyo, "2026-01-15", TODAY) == (
        "klaviyo API version 2026-01-15 becomes deprecated in 46 days (on 2027-01-15) and "
        "retires on 2028-01-15; move to 2026-10-15"
    )
    assert lifecycle_warning(klaviyo, "2026-01-15", TODAY, near_days=30) is None


def test_no_advice_to_move_to_a_default_that_is_itself_past_its_time() -> None:
    stale = KLAVIYO.model_copy(update={"version": "2024-10-15"})

    assert lifecycle_warning(stale, "2025-10-15", TODAY) == (
        "klaviyo API version 2025-10-15 is deprecated since 2026-10-15, retires on 2027-10-15"
    )


def test_month_arithmetic_clamps_to_short_months() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 3, 15), -15) == date(2024, 12, 15)


def test_a_spec_must_put_its_version_where_its_policy_says() -> None:
    data = SHOPIFY.model_dump()
    with pytest.raises(ValueError, match="api_prefix lacks it"):
        ConnectorSpec.model_validate({**data, "api_prefix": "/admin/api/2026-10"})
    with pytest.raises(ValueError, match="not a version of this API"):
        ConnectorSpec.model_validate({**data, "version": "2026-11"})
    klaviyo = KLAVIYO.model_dump()
    with pytest.raises(ValueError, match="header 'revision'"):
        ConnectorSpec.model_validate(
            {**klaviyo, "headers": {**klaviyo["headers"], "revision": "2026-10-15"}}
        )
