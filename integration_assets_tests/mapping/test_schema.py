"""The published JSON Schema is the one the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from integration_assets.mapping.schema import REGENERATE_COMMAND, SCHEMA_FILE, main, render_schema
from integration_assets_tests.mapping.conftest import REPO_ROOT


def test_the_committed_mapping_schema_is_up_to_date() -> None:
    committed = (REPO_ROOT / SCHEMA_FILE).read_text(encoding="utf-8")

    assert committed == render_schema(), (
        f"{SCHEMA_FILE} is stale: the mapping spec changed. Regenerate it from the repository "
        f"root with `.venv/bin/{REGENERATE_COMMAND}` and commit the result."
    )


def test_the_schema_command_writes_the_schema_where_asked(tmp_path: Path) -> None:
    target = tmp_path / "mapping.schema.json"

    assert main([str(target)]) == 0

    schema = json.loads(target.read_text(encoding="utf-8"))
    assert schema["title"] == "MappingSpec"
    assert set(schema["required"]) == {"integration", "entity", "table", "primary_key", "mappings"}


def test_the_schema_offers_editors_the_api_the_transforms_and_the_enum_policies() -> None:
    schema = json.loads(render_schema())
    field = schema["$defs"]["FieldMapping"]["properties"]
    names = next(
        option["enum"] for option in field["transform"]["anyOf"] if option.get("type") == "string"
    )
    unknown = schema["$defs"]["EnumMap"]["properties"]["unknown"]

    assert names == ["gid_numeric_id", "join", "lowercase"]
    assert schema["properties"]["api"]["anyOf"][0]["pattern"] == "^[a-z][a-z0-9_]*$"
    assert {"type": "null"} in field["source"]["anyOf"]
    assert unknown["default"] == "error"
    assert schema["$defs"]["UnknownPolicy"]["enum"] == ["error", "keep", "null"]
