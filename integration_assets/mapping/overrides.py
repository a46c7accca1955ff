"""Per-connection overrides: change only what the override names, keep the rest of the mapping.

An override (`mappings/overrides/<connection>/<entity>.json`) is a partial mapping file:

- top-level keys other than `mappings` (`table`, `description`, …) replace the base value;
- a `mappings` entry with a `target` patches the base field of that target (only the keys
  it gives), or is added as a new field when the base has no such target;
- `{"target": "x", "remove": true}` removes field `x`;
- `quality` blocks (the entity's, and a field's) are merged key by key, nested objects too
  (`{"quality": {"threshold": 0.9}}` keeps the entity's checks; `{"target": "total_price",
  "quality": {"max": 5000}}` keeps the field's other rules; `null` drops a rule);
- an entry with `source` and `nested` patches the child table expanded from that source the
  same way (its own top-level keys replace, its `mappings` patch by target); with
  `"remove": true` (and no `nested`) it removes the child table.

The merge works on the raw JSON so the result is validated exactly like a normal file.
Naming something that does not exist in the base (removing an unknown field) is an error,
because a silent no-op would hide a renamed field.
"""

from __future__ import annotations

import copy
from typing import Any

from integration_assets.mapping.errors import Problem

_FIXED_KEYS = ("integration", "entity")
QUALITY = "quality"


def merge_quality(base: Any, patch: Any) -> Any:
    """`patch` over `base`, object by object: only what the patch names changes."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(base)
    for key, value in patch.items():
        merged[key] = merge_quality(base.get(key), value) if key in base else copy.deepcopy(value)
    return merged


class OverrideProblems(ValueError):
    """The override itself is malformed; `problems` says where."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


def apply_override(base: dict[str, Any], override: Any) -> dict[str, Any]:
    """The base mapping (raw JSON) with the override applied; the inputs are not modified."""
    problems: list[Problem] = []
    if not isinstance(override, dict):
        raise OverrideProblems([Problem("", "an override must be a JSON object")])
    merged = copy.deepcopy(base)
    for key in _FIXED_KEYS:
        if key in override and override[key] != base.get(key):
            problems.append(
                Problem(key, f"an override cannot change {key} ({base.get(key)!r} in the base)")
            )
    for key, value in override.items():
        if key == QUALITY:
            merged[key] = merge_quality(merged.get(key), value)
        elif key != "mappings":
            merged[key] = copy.deepcopy(value)
    if "mappings" in override:
        merged["mappings"] = _merge_entries(
            merged.get("mappings"), override["mappings"], "mappings", problems
        )
    if problems:
        raise OverrideProblems(problems)
    return merged


def _merge_entries(base: Any, patches: Any, path: str, problems: list[Problem]) -> Any:
    if not isinstance(patches, list):
        problems.append(Problem(path, "must be a list of entries to patch, add or remove"))
        return base
    entries = list(base) if isinstance(base, list) else []
    for number, patch in enumerate(patches):
        where = f"{path}[{number}]"
        if not isinstance(patch, dict):
            problems.append(Problem(where, "each override entry must be a JSON object"))
            continue
        if isinstance(patch.get("target"), str):
            _merge_field(entries, patch, where, problems)
        elif isinstance(patch.get("source"), str) and ("nested" in patch or "remove" in patch):
            _merge_nested(entries, patch, where, problems)
        else:
            problems.append(
                Problem(
                    where,
                    "needs 'target' (to patch, add or remove a field) or 'source' with "
                    "'nested' or 'remove' (for a child table)",
                )
            )
    return entries


def _find(entries: list[Any], key: str, value: str, nested: bool) -> int | None:
    for position, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get(key) == value and ("nested" in entry) == nested:
            return position
    return None


def _removal(patch: dict[str, Any], where: str, problems: list[Problem]) -> bool:
    remove = patch.get("remove", False)
    if not isinstance(remove, bool):
        problems.append(Problem(f"{where}.remove", f"must be true or false, got {remove!r}"))
        return False
    return remove


def _merge_field(
    entries: list[Any], patch: dict[str, Any], where: str, problems: list[Problem]
) -> None:
    target = patch["target"]
    position = _find(entries, "target", target, nested=False)
    if _removal(patch, where, problems):
        if position is None:
            problems.append(Problem(where, f"removes field {target!r}, which the base lacks"))
        else:
            del entries[position]
        return
    changes = {key: copy.deepcopy(value) for key, value in patch.items() if key != "remove"}
    if position is None:
        entries.append(changes)
        return
    entry = entries[position]
    if QUALITY in changes and isinstance(entry, dict):
        changes[QUALITY] = merge_quality(entry.get(QUALITY), changes[QUALITY])
    entries[position] = {**entry, **changes}


def _merge_nested(
    entries: list[Any], patch: dict[str, Any], where: str, problems: list[Problem]
) -> None:
    source = patch["source"]
    position = _find(entries, "source", source, nested=True)
    if _removal(patch, where, problems):
        if position is None:
            problems.append(Problem(where, f"removes nested {source!r}, which the base lacks"))
        else:
            del entries[position]
        return
    if position is None:
        entries.append(
            {key: copy.deepcopy(value) for key, value in patch.items() if key != "remove"}
        )
        return
    nested_patch = patch.get("nested")
    if not isinstance(nested_patch, dict):
        problems.append(Problem(f"{where}.nested", "must be a JSON object"))
        return
    entry = dict(entries[position])
    nested = dict(entry.get("nested") or {})
    for key, value in nested_patch.items():
        if key != "mappings":
            nested[key] = copy.deepcopy(value)
    if "mappings" in nested_patch:
        nested["mappings"] = _merge_entries(
            nested.get("mappings"), nested_patch["mappings"], f"{where}.nested.mappings", problems
        )
    entry.update(
        {
            key: copy.deepcopy(value)
            for key, value in patch.items()
            if key not in ("nested", "remove")
        }
    )
    entry["nested"] = nested
    entries[position] = entry
