"""Which page size a stream asks for, within each endpoint's own maximum."""

from __future__ import annotations

import pytest

from integration_assets.connectors import get_connector
from integration_assets.connectors.spec import EntitySpec
from integration_assets.extract import ExtractSettings
from integration_assets.extract.stream import page_size_for

KLAVIYO = get_connector("klaviyo")


def test_klaviyo_events_ask_for_1000_and_profiles_for_100() -> None:
    settings = ExtractSettings()

    assert page_size_for(KLAVIYO, KLAVIYO.entity("events"), settings) == 1000
    assert page_size_for(KLAVIYO, KLAVIYO.entity("profiles"), settings) == 100


def test_a_chosen_page_size_is_held_to_each_endpoints_maximum() -> None:
    settings = ExtractSettings(page_size=500)

    assert page_size_for(KLAVIYO, KLAVIYO.entity("events"), settings) == 500
    with pytest.raises(ValueError, match=r"klaviyo/profiles: page size 500 exceeds .* 100"):
        page_size_for(KLAVIYO, KLAVIYO.entity("profiles"), settings)


def test_an_entity_page_size_above_its_own_maximum_is_refused() -> None:
    with pytest.raises(ValueError, match="events: page_size exceeds max_page_size"):
        EntitySpec(
            name="events", path="events/", records_path="data", page_size=2000, max_page_size=1000
        )
