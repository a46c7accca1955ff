"""Finds, reads and validates mapping files, applying a connection's override when present.

Layout (see docs/architecture.md): `mappings/<vendor>/<entity>.json` is the vendor mapping;
`mappings/overrides/<connection>/<entity>.json` changes it for one connection. The mappings
directory is `$INTEGRATION_MAPPINGS` if set, else `mappings/` in the working directory.
Anything wrong raises `MappingError` naming the file, the field path and the problem.

`load_mapping` gives one connection's mapping. The warehouse tables are not that mapping's
alone: every connection of a vendor shares them, so they are the union of the vendor mapping
and every override of the entity on disk (`mapping.union.load_table_union`); a connection's
compiled mapping is padded to them (`compile_mapping(spec, union)`), writing NULL where its
own mapping has no column. Overrides that disagree on a column's type, a key or a child
table's parent are refused there, naming both files.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from integration_assets.mapping.errors import MappingError, Problem, problems_from_validation
from integration_assets.mapping.overrides import OverrideProblems, apply_override
from integration_assets.mapping.spec import MappingSpec

MAPPINGS_ENV_VAR = "INTEGRATION_MAPPINGS"
DEFAULT_MAPPINGS_DIR = "mappings"
OVERRIDES_DIR = "overrides"
# Names become path components: no separators, no dots, so no escaping the directory.
_PATH_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class _DuplicateKey(ValueError):
    pass


def default_mappings_dir() -> Path:
    """`$INTEGRATION_MAPPINGS` if set, else `mappings/` in the working directory."""
    return Path(os.environ.get(MAPPINGS_ENV_VAR) or DEFAULT_MAPPINGS_DIR)


def _checked_name(kind: str, value: str) -> str:
    if not _PATH_NAME.fullmatch(value):
        raise MappingError(
            None, [Problem("", f"{kind} {value!r} is not a valid name (lower-case, digits, _ -)")]
        )
    return value


def mapping_path(vendor: str, entity: str, mappings_dir: Path | str | None = None) -> Path:
    """Where the vendor mapping of `entity` lives."""
    root = Path(mappings_dir) if mappings_dir is not None else default_mappings_dir()
    return root / _checked_name("vendor", vendor) / f"{_checked_name('entity', entity)}.json"


def override_path(connection: str, entity: str, mappings_dir: Path | str | None = None) -> Path:
    """Where a connection's override of `entity` lives (whether or not it exists)."""
    root = Path(mappings_dir) if mappings_dir is not None else default_mappings_dir()
    return (
        root
        / OVERRIDES_DIR
        / _checked_name("connection", connection)
        / f"{_checked_name('entity', entity)}.json"
    )


def available_mappings(mappings_dir: Path | str | None = None) -> list[tuple[str, str]]:
    """Every (vendor, entity) with a mapping file, sorted; overrides are not listed."""
    root = Path(mappings_dir) if mappings_dir is not None else default_mappings_dir()
    found = [
        (file.parent.name, file.stem)
        for file in root.glob("*/*.json")
        if file.parent.name != OVERRIDES_DIR
    ]
    return sorted(found)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json(file: Path) -> Any:
    """Parse a JSON file strictly (no duplicate keys, no NaN), or raise MappingError."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(file, [Problem("", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise MappingError(file, [Problem("", f"not UTF-8 text (byte {exc.start})")]) from None
    except OSError as exc:
        raise MappingError(file, [Problem("", f"cannot be read: {exc.strerror}")]) from None
    try:
        return json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        message = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise MappingError(file, [Problem("", message)]) from None
    except _DuplicateKey as exc:
        message = f"invalid JSON: key {exc.args[0]!r} appears twice in the same object"
        raise MappingError(file, [Problem("", message)]) from None
    except ValueError as exc:
        raise MappingError(file, [Problem("", f"invalid JSON: {exc}")]) from None


def validate_mapping(data: Any, file: Path | str | None = None, context: str = "") -> MappingSpec:
    """Validate raw mapping JSON; problems are reported against `file`."""
    if not isinstance(data, dict):
        raise MappingError(file, [Problem("", "a mapping must be a JSON object")], context)
    try:
        return MappingSpec.model_validate(data)
    except ValidationError as exc:
        raise MappingError(file, problems_from_validation(exc, data), context) from None


def read_mapping_file(file: Path | str) -> MappingSpec:
    """Read and validate one complete mapping file."""
    path = Path(file)
    return validate_mapping(read_json(path), path)


def _check_identity(spec: MappingSpec, vendor: str, entity: str, file: Path) -> None:
    problems = []
    if spec.integration != vendor:
        problems.append(
            Problem("integration", f"is {spec.integration!r} but the file is for {vendor!r}")
        )
    if spec.entity != entity:
        problems.append(Problem("entity", f"is {spec.entity!r} but the file is for {entity!r}"))
    if problems:
        raise MappingError(file, problems)


def load_mapping(
    vendor: str,
    entity: str,
    connection: str | None = None,
    mappings_dir: Path | str | None = None,
) -> MappingSpec:
    """The mapping of `vendor`/`entity`, with `connection`'s override applied if it has one.

    Raises MappingError when a file is missing, is not valid JSON, or does not validate; the
    vendor file is checked on its own first, so a problem is blamed on the right file.
    """
    base_file = mapping_path(vendor, entity, mappings_dir)
    override_file = override_path(connection, entity, mappings_dir) if connection else None
    if not base_file.is_file():
        known = [f"{v}/{e}" for v, e in available_mappings(base_file.parent.parent)]
        message = f"no mapping for {vendor}/{entity} (known: {', '.join(known) or 'none'})"
        raise MappingError(base_file, [Problem("", message)])
    base_data = read_json(base_file)
    spec = validate_mapping(base_data, base_file)
    _check_identity(spec, vendor, entity, base_file)
    if override_file is None or not override_file.is_file():
        return spec
    override_data = read_json(override_file)
    try:
        merged = apply_override(base_data, override_data)
    except OverrideProblems as exc:
        raise MappingError(override_file, exc.problems) from None
    return validate_mapping(merged, override_file, context=f"applied to {base_file}")
