"""Values shown in errors: phone numbers are recognised as a whole, whitespace around them too."""

from __future__ import annotations

import pytest

from integration_assets.mapping.masking import describe_value, mask_text


@pytest.mark.parametrize("text", ["+1 555 123 4567", "+1 555 123 4567\n", " (555) 123-4567 "])
def test_phone_numbers_are_masked(text: str) -> None:
    assert "555" not in mask_text(text)
    assert "masked" in describe_value(text)


@pytest.mark.parametrize("text", ["order 5551234567", "5551234567 units", "12345"])
def test_text_that_merely_contains_digits_is_shown(text: str) -> None:
    assert mask_text(text) == text
