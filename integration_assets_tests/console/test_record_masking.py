"""What of a raw record the console may show: its shape and ids, never who it is about."""

from __future__ import annotations

import json

from integration_assets.console.record_masking import mask_record


def test_a_klaviyo_profile_keeps_its_ids_and_loses_its_person() -> None:
    profile = {
        "type": "profile",
        "id": "01HZX3K9",
        "attributes": {
            "email": "grace@example.org",
            "phone_number": "+14155550123",
            "first_name": "Grace",
            "last_name": "Hopper",
            "location": {"address1": "1 Navy Yard", "city": "Arlington", "zip": 22201},
            "properties": {"favourite": "COBOL", "contact": "call +1 415 555 0199"},
            "created": "2026-01-02T03:04:05Z",
        },
    }

    shown = json.dumps(mask_record(profile, "profiles"))

    for personal in ("grace@example.org", "+14155550123", "Grace", "Hopper", "Navy", "22201"):
        assert personal not in shown
    assert "555 0199" not in shown  # a phone number inside free text
    assert '"id": "01HZX3K9"' in shown and '"favourite": "COBOL"' in shown
    assert '"created": "2026-01-02T03:04:05Z"' in shown


def test_a_product_title_is_not_a_persons_name() -> None:
    product = {"id": 7, "title": "Difference Engine", "variants": [{"price": "9.50"}]}

    assert mask_record(product, "products") == product
    assert mask_record({"name": "Ada"}, "customers") == {"name": "A***a"}
