"""The published JSON Schema of mapping files, and the command that regenerates it.

`mappings/mapping.schema.json` lets editors validate and autocomplete mapping files (each file
points at it with `"$schema"`). It is generated from `MappingSpec`, never edited by hand; a
test fails when the committed copy is stale. Regenerate with:

    python -m integration_assets.mapping.schema [path]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from integration_assets.mapping.spec import MappingSpec

SCHEMA_FILE = Path("mappings") / "mapping.schema.json"
REGENERATE_COMMAND = "python -m integration_assets.mapping.schema"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def mapping_json_schema() -> dict[str, Any]:
    """The JSON Schema of a mapping file."""
    return {"$schema": _DIALECT, **MappingSpec.model_json_schema(by_alias=True)}


def render_schema() -> str:
    """The schema exactly as committed: stable key order, two-space indent, final newline."""
    return json.dumps(mapping_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else SCHEMA_FILE
    target.write_text(render_schema(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
