"""Quality rules in mapping files: parsed into the compiled mapping, tightened or relaxed by a
connection's override key by key, and refused at load time, naming file and field, when they
cannot work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integration_assets.mapping import MappingError, compile_mapping, load_mapping
from integration_assets_tests.mapping.conftest import WriteJson, customer_mapping

RULES: dict[str, Any] = {
    "threshold": 0.9,
    "checks": [],
    "anomaly": {"sensitivity": 4.0},
    "drift": {"psi_threshold": 0.3, "columns": {"total_spent": 0.5}, "exclude": ["email"]},
    "score_drop_alert": 5,
}


def with_rules(**field_quality: dict[str, Any]) -> dict[str, Any]:
    mapping = customer_mapping(quality=RULES)
    for entry in mapping["mappings"]:
        if entry["target"] in field_quality:
            entry["quality"] = field_quality[entry["target"]]
    return mapping


def compiled(mappings_dir: Path, connection: str | None = None) -> Any:
    return compile_mapping(load_mapping("shopify", "customers", connection, mappings_dir))


def test_entity_settings_become_the_compiled_mappings_quality_settings(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("shopify/customers.json", with_rules(total_spent={"min": 0, "max": 1000}))
    mapping = compiled(mappings_dir)

    settings = mapping.quality
    assert settings.threshold == 0.9 and settings.score_drop_alert == 5
    assert settings.anomaly.sensitivity == 4.0 and settings.anomaly.min_history == 7
    assert settings.drift.psi_threshold == 0.3 and settings.drift.js_threshold == 0.1
    assert settings.drift.column_thresholds == {"total_spent": 0.5}
    assert settings.drift.exclude == ("email",)
    rule = {r.column: r for r in mapping.quality_rules.fields["shopify_customers"]}["total_spent"]
    assert (rule.min, rule.max) == (0, 1000)


def test_a_mapping_without_rules_gets_the_default_settings(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("shopify/customers.json", customer_mapping())
    assert compiled(mappings_dir).quality.threshold == 0.95


def test_an_override_tightens_the_threshold_and_a_fields_max_keeping_the_rest(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json(
        "shopify/customers.json",
        with_rules(total_spent={"min": 0, "max": 1000}, email={"format": "email"}),
    )
    write_json(
        "overrides/acme/customers.json",
        {
            "quality": {"threshold": 0.99, "drift": {"min_rows": 10}},
            "mappings": [
                {"target": "total_spent", "quality": {"max": 100}},
                {"target": "email", "quality": {"format": None}},
            ],
        },
    )
    mapping = compiled(mappings_dir, "acme")

    assert mapping.quality.threshold == 0.99
    assert mapping.quality.anomaly.sensitivity == 4.0  # kept from the vendor file
    assert mapping.quality.drift.min_rows == 10 and mapping.quality.drift.psi_threshold == 0.3
    rules = {r.column: r for r in mapping.quality_rules.fields["shopify_customers"]}
    assert (rules["total_spent"].min, rules["total_spent"].max) == (0, 100)
    assert rules["email"].format is None  # relaxed
    assert compiled(mappings_dir).quality.threshold == 0.9  # other connections keep theirs


@pytest.mark.parametrize(
    ("field_quality", "entity_quality", "expected"),
    [
        ({"format": "emial"}, None, "mappings[1] (target 'email').quality.format: unknown format"),
        ({"checks": ["luhn"]}, None, "unknown field check 'luhn'"),
        ({"pattern": "(["}, None, "pattern '([' is not a valid regex"),
        ({"format": "email", "min": 1}, None, "min/max need an integer, float or decimal column"),
        (None, {"checks": ["totals_balance"]}, "quality.checks[0]: unknown entity check"),
        (None, {"threshold": 1.5}, "quality.threshold: Input should be less than or equal to 1"),
        (None, {"checks": ["order_total_balances"]}, "needs numeric columns total_price"),
        (None, {"drift": {"exclude": ["nope"]}}, "quality.drift names columns the table lacks"),
    ],
)
def test_a_broken_rule_is_a_mapping_error_naming_file_and_field(
    write_json: WriteJson,
    mappings_dir: Path,
    field_quality: dict[str, Any] | None,
    entity_quality: dict[str, Any] | None,
    expected: str,
) -> None:
    mapping = customer_mapping(**({"quality": entity_quality} if entity_quality else {}))
    if field_quality is not None:
        mapping["mappings"][1]["quality"] = field_quality
    path = write_json("shopify/customers.json", mapping)

    with pytest.raises(MappingError) as raised:
        load_mapping("shopify", "customers", mappings_dir=mappings_dir)
    assert str(path) in str(raised.value)
    assert expected in str(raised.value)


def test_min_above_max_names_the_field(write_json: WriteJson, mappings_dir: Path) -> None:
    mapping = customer_mapping()
    mapping["mappings"][3]["quality"] = {"min": 10, "max": 1}
    write_json("shopify/customers.json", mapping)

    with pytest.raises(MappingError, match=r"target 'total_spent'.*min 10 is greater than max 1"):
        load_mapping("shopify", "customers", mappings_dir=mappings_dir)


def test_a_broken_rule_in_an_override_blames_the_override(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("shopify/customers.json", customer_mapping())
    override = write_json(
        "overrides/acme/customers.json",
        {"mappings": [{"target": "total_spent", "quality": {"min": 5, "max": 1}}]},
    )
    with pytest.raises(MappingError) as raised:
        load_mapping("shopify", "customers", "acme", mappings_dir)
    assert str(override) in str(raised.value) and "greater than max" in str(raised.value)
