"""Klaviyo's revision lifecycle as the simulator applies it: released, supported, retired."""

from __future__ import annotations

from datetime import date

from integration_assets.sandbox.klaviyo.revisions import Refused, Served, resolve

NOV_30_2026 = date(2026, 11, 30)


def test_a_revision_is_served_as_itself_until_its_second_birthday() -> None:
    assert resolve("2024-10-15", date(2026, 10, 14), opt_out=True) == Served(date(2024, 10, 15))
    assert isinstance(resolve("2024-10-15", date(2026, 10, 15), opt_out=True), Refused)


def test_a_retired_revision_falls_forward_to_the_oldest_one_still_supported() -> None:
    assert resolve("2023-02-22", NOV_30_2026, opt_out=False) == Served(
        date(2025, 1, 15), fell_forward=True
    )
    assert resolve("2025-01-15", date(2027, 2, 1), opt_out=False) == Served(
        date(2025, 4, 15), fell_forward=True
    )


def test_the_opt_out_turns_only_retired_revisions_into_410() -> None:
    retired = resolve("2024-10-15", NOV_30_2026, opt_out=True)
    supported = resolve("2025-01-15", NOV_30_2026, opt_out=True)

    assert isinstance(retired, Refused) and (retired.status, retired.code) == (410, "gone")
    assert retired.detail.startswith("Revision 2024-10-15 was retired on 2026-10-15.")
    assert supported == Served(date(2025, 1, 15))


def test_missing_unreleased_and_made_up_revisions_are_invalid() -> None:
    for header in (None, " ", "2026-10-16", "2026-10-15.pre", "2026-10-15T00:00:00"):
        refused = resolve(header, NOV_30_2026, opt_out=False)

        assert isinstance(refused, Refused) and (refused.status, refused.code) == (400, "invalid")
    assert isinstance(resolve("2026-10-15", date(2026, 10, 14), opt_out=False), Refused)
