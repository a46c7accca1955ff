"""Finds, reads and validates mapping files, applying a connection's override when present.

Layout (see docs/architecture.md):

- `mappings/<vendor>/<entity>.json`: the mapping of a vendor with one API (Klaviyo);
- `mappings/<vendor>/<api>/<entity>.json`: one mapping per API for a vendor with several
  (Shopify's `graphql` and `rest`); the connection's API picks the file, `default_api` when it
  names none. Every API variant of an entity must describe the same tables (`mapping.union`);
- `mappings/overrides/<connection>/<entity>.json` changes the mapping for one connection. An
  override applies to the connection's API mapping; one that declares `"api"` is refused for a
  connection of another API.

The mappings directory is `$INTEGRATION_MAPPINGS` if set, else `mappings/` in the working
directory. Anything wrong raises `MappingError` naming the file, the field path and the problem.

`load_mapping` gives one connection's mapping. The warehouse tables are not that mapping's
alone: every connection of a vendor shares them, so they are the union of the vendor's API
mappings and every override of the entity on disk (`mapping.union.load_table_union`); a
connection's compiled mapping is padded to them (`compile_mapping(spec, union)`), writing NULL
where its own mapping has no column. Overrides that disagree on a column's type, a key or a
child table's parent are refused there, naming both files.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from integration_assets.mapping.apis import default_api
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


@dataclass(frozen=True, order=True)
class MappingFile:
    """One vendor mapping file on disk; `api` is None for a single-API vendor's file."""

    vendor: str
    entity: str
    api: str | None
    path: Path


def default_mappings_dir() -> Path:
    """`$INTEGRATION_MAPPINGS` if set, else `mappings/` in the working directory."""
    return Path(os.environ.get(MAPPINGS_ENV_VAR) or DEFAULT_MAPPINGS_DIR)


def mappings_root(mappings_dir: Path | str | None) -> Path:
    """`mappings_dir`, else the default mappings directory."""
    return Path(mappings_dir) if mappings_dir is not None else default_mappings_dir()


def _checked_name(kind: str, value: str) -> str:
    if not _PATH_NAME.fullmatch(value):
        raise MappingError(
            None, [Problem("", f"{kind} {value!r} is not a valid name (lower-case, digits, _ -)")]
        )
    return value


def vendor_apis(vendor: str, mappings_dir: Path | str | None = None) -> tuple[str, ...]:
    """The APIs with a folder of mappings under `mappings/<vendor>/`, sorted; () when the
    vendor has one API and keeps its files directly in its folder."""
    folder = mappings_root(mappings_dir) / _checked_name("vendor", vendor)
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            child.name
            for child in folder.iterdir()
            if child.is_dir() and _PATH_NAME.fullmatch(child.name)  # not .git, __pycache__
        )
    )


def resolve_api(vendor: str, api: str | None, mappings_dir: Path | str | None = None) -> str | None:
    """The API whose mapping a connection of `vendor` uses: `api`, else the vendor's default;
    None for a single-API vendor that was not asked for one."""
    if api is not None:
        return _checked_name("api", api)
    return default_api(vendor) if vendor_apis(vendor, mappings_dir) else None


def mapping_path(
    vendor: str,
    entity: str,
    mappings_dir: Path | str | None = None,
    api: str | None = None,
) -> Path:
    """Where the mapping of `entity` lives for a connection using `api` (None: the default).

    A single-API vendor's file serves every connection of it: `api` does not change the path
    (the file may still declare an `api`, which `load_mapping` then checks).
    """
    root = mappings_root(mappings_dir)
    vendor_dir = root / _checked_name("vendor", vendor)
    file_name = f"{_checked_name('entity', entity)}.json"
    apis = vendor_apis(vendor, root)
    if not apis:
        return vendor_dir / file_name
    chosen = resolve_api(vendor, api, root)
    if chosen is None:
        message = (
            f"{vendor} has mappings for several APIs ({', '.join(apis)}) and no default API: "
            "the connection must name its api"
        )
        raise MappingError(vendor_dir, [Problem("", message)])
    return vendor_dir / chosen / file_name


def override_path(connection: str, entity: str, mappings_dir: Path | str | None = None) -> Path:
    """Where a connection's override of `entity` lives (whether or not it exists)."""
    return (
        mappings_root(mappings_dir)
        / OVERRIDES_DIR
        / _checked_name("connection", connection)
        / f"{_checked_name('entity', entity)}.json"
    )


def mapping_files(mappings_dir: Path | str | None = None) -> list[MappingFile]:
    """Every vendor mapping file, sorted; overrides are not listed.

    A JSON file directly in the folder of a vendor that has API folders is an error (it would
    be read by no connection, most likely left behind by a move into an API folder).
    """
    root = mappings_root(mappings_dir)
    found: list[MappingFile] = []
    if not root.is_dir():
        return found
    for vendor_dir in sorted(root.iterdir()):
        if not vendor_dir.is_dir() or vendor_dir.name == OVERRIDES_DIR:
            continue
        vendor = vendor_dir.name
        apis = vendor_apis(vendor, root)
        flat = sorted(vendor_dir.glob("*.json"))
        if apis and flat:
            message = (
                f"{vendor} keeps its mappings in API folders ({', '.join(apis)}): move this "
                f"file into mappings/{vendor}/<api>/"
            )
            raise MappingError(flat[0], [Problem("", message)])
        found += [MappingFile(vendor, file.stem, None, file) for file in flat]
        for api in apis:
            found += [
                MappingFile(vendor, file.stem, api, file)
                for file in sorted((vendor_dir / api).glob("*.json"))
            ]
    return sorted(found)


def available_mappings(mappings_dir: Path | str | None = None) -> list[tuple[str, str]]:
    """Every (vendor, entity) with a mapping file for at least one API, sorted."""
    return sorted({(file.vendor, file.entity) for file in mapping_files(mappings_dir)})


def mapping_apis(
    vendor: str, entity: str, mappings_dir: Path | str | None = None
) -> tuple[str | None, ...]:
    """The APIs with a mapping of (vendor, entity), the vendor's default first; `(None,)` for
    a single-API vendor's file, `()` when there is none."""
    apis = [
        file.api
        for file in mapping_files(mappings_dir)
        if (file.vendor, file.entity) == (vendor, entity)
    ]
    first = default_api(vendor)
    return tuple(sorted(apis, key=lambda api: (api != first, api or "")))


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


def _check_identity(
    spec: MappingSpec,
    vendor: str,
    entity: str,
    folder_api: str | None,
    requested_api: str | None,
    file: Path,
) -> None:
    problems = []
    if spec.integration != vendor:
        problems.append(
            Problem("integration", f"is {spec.integration!r} but the file is for {vendor!r}")
        )
    if spec.entity != entity:
        problems.append(Problem("entity", f"is {spec.entity!r} but the file is for {entity!r}"))
    if folder_api is not None and spec.api is not None and spec.api != folder_api:
        problems.append(
            Problem("api", f"is {spec.api!r} but the file is in the {folder_api!r} API folder")
        )
    elif requested_api is not None and spec.api is not None and spec.api != requested_api:
        problems.append(
            Problem("api", f"is {spec.api!r} but the connection uses the {requested_api!r} API")
        )
    if problems:
        raise MappingError(file, problems)


def _connection_api(base: MappingSpec, requested: str | None) -> str | None:
    return requested if requested is not None else base.api


def _check_override_api(
    override: Any, api: str | None, connection: str, vendor: str, file: Path
) -> None:
    """An override written for one API reads that API's record fields: refuse it elsewhere."""
    declared = override.get("api") if isinstance(override, dict) else None
    if declared is None or api is None or declared == api:
        return
    message = (
        f"this override is for the {declared!r} API of {vendor}, but connection "
        f"{connection!r} uses the {api!r} API: its source paths name {declared} record fields. "
        f'Write the override for {api!r} (set "api": "{api}" and {api} source paths), '
        "or switch the connection back"
    )
    raise MappingError(file, [Problem("api", message)])


def load_mapping(
    vendor: str,
    entity: str,
    connection: str | None = None,
    mappings_dir: Path | str | None = None,
    api: str | None = None,
) -> MappingSpec:
    """The mapping of `vendor`/`entity` for a connection using `api` (None: the vendor's
    default), with `connection`'s override applied if it has one.

    Raises MappingError when a file is missing, is not valid JSON, or does not validate, or
    when the override declares another API than the connection's; the vendor file is checked
    on its own first, so a problem is blamed on the right file.
    """
    root = mappings_root(mappings_dir)
    base_file = mapping_path(vendor, entity, root, api)
    override_file = override_path(connection, entity, root) if connection else None
    if not base_file.is_file():
        known = [
            "/".join(part for part in (file.vendor, file.api, file.entity) if part)
            for file in mapping_files(root)
        ]
        wanted = "/".join(part for part in (vendor, resolve_api(vendor, api, root), entity) if part)
        message = f"no mapping for {wanted} (known: {', '.join(known) or 'none'})"
        raise MappingError(base_file, [Problem("", message)])
    folder_api = resolve_api(vendor, api, root) if vendor_apis(vendor, root) else None
    base_data = read_json(base_file)
    spec = validate_mapping(base_data, base_file)
    _check_identity(spec, vendor, entity, folder_api, api, base_file)
    if override_file is None or not override_file.is_file():
        return spec
    override_data = read_json(override_file)
    connection_api = _connection_api(spec, folder_api or api)
    _check_override_api(override_data, connection_api, str(connection), vendor, override_file)
    try:
        merged = apply_override(base_data, override_data)
    except OverrideProblems as exc:
        raise MappingError(override_file, exc.problems) from None
    context = f"applied to {base_file}"
    undeclared = not (isinstance(override_data, dict) and "api" in override_data)
    if folder_api is not None and undeclared:
        context += (
            f"; the connection uses the {folder_api!r} API, so the override's source paths "
            f'must be {folder_api} fields (add "api" to say which API an override is for)'
        )
    return validate_mapping(merged, override_file, context=context)
