"""The warehouse tables of an entity: the union of every variant of its mapping.

All connections of a vendor share one table per (vendor, entity) (`_connection` leads the
key), but each connection may have an override that adds, removes or retypes fields. If each
connection created the table from its own mapping, a column one shop's override adds would be
schema drift for every other shop, and a field an override removes would be missing from its
own. So the warehouse table is the union of the vendor mapping and every override of that
entity found in `mappings/overrides/*/` (whatever `connections.yaml` says today: an override
on disk is a table shape someone intends to load):

- Unions are per table name: an override that renames a table makes a table of its own.
- A column that some variants of a table lack, or that any variant leaves optional, is
  nullable. A connection whose mapping lacks a column writes NULL to it, on insert and on
  update (the compiler pads its rows, see `compile_mapping(spec, union)`).
- Everything else must agree: column types, primary key, source timestamp column and the
  parent of a child table. A disagreement is a `MappingError` naming both files, raised by
  `validate-mappings` and by any sync of the entity before it touches the database.

An override file that names another `integration` is not a variant of this vendor's entity
(two vendors may share an entity name) and is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from integration_assets.mapping.compiler import compile_mapping
from integration_assets.mapping.errors import MappingError, Problem
from integration_assets.mapping.loader import (
    OVERRIDES_DIR,
    load_mapping,
    mapping_path,
    read_json,
)
from integration_assets.schema import ColumnSchema, TableSchema


@dataclass(frozen=True)
class Variant:
    """The tables one mapping file (the vendor's, or an override applied to it) describes."""

    file: Path
    tables: tuple[TableSchema, ...]


def mapping_variants(
    vendor: str, entity: str, mappings_dir: Path | str | None = None
) -> list[Variant]:
    """The vendor mapping, then every override of `entity`, sorted by connection name."""
    base_file = mapping_path(vendor, entity, mappings_dir)
    root = base_file.parent.parent
    base = load_mapping(vendor, entity, mappings_dir=root)
    variants = [Variant(base_file, compile_mapping(base).own_tables)]
    for override in sorted((root / OVERRIDES_DIR).glob(f"*/{entity}.json")):
        data = read_json(override)
        if isinstance(data, dict) and data.get("integration", vendor) != vendor:
            continue
        spec = load_mapping(vendor, entity, connection=override.parent.name, mappings_dir=root)
        variants.append(Variant(override, compile_mapping(spec).own_tables))
    return variants


def _conflict(file: Path, table: str, what: str, here: object, there: object, other: Path) -> None:
    message = (
        f"table {table!r}: {what} is {here!r} here but {there!r} in {other}; every connection "
        "of a vendor shares the table, so its variants must agree (rename the table in this "
        "override to give the connection a table of its own)"
    )
    raise MappingError(file, [Problem("", message)])


def _union_of(name: str, members: Sequence[tuple[Path, TableSchema]]) -> TableSchema:
    first_file, first = members[0]
    for file, table in members[1:]:
        for what in ("primary_key", "source_updated_at", "parent", "parent_key"):
            here, there = getattr(table, what), getattr(first, what)
            if here != there:
                _conflict(file, name, what, here, there, first_file)
    columns: dict[str, ColumnSchema] = {}
    origin: dict[str, Path] = {}
    present: dict[str, int] = {}
    for file, table in members:
        for column in table.columns:
            seen = columns.get(column.name)
            if seen is None:
                columns[column.name], origin[column.name] = column, file
                present[column.name] = 1
                continue
            if seen.type is not column.type:
                _conflict(
                    file,
                    name,
                    f"the type of column {column.name!r}",
                    column.type.value,
                    seen.type.value,
                    origin[column.name],
                )
            present[column.name] += 1
            columns[column.name] = replace(
                seen,
                nullable=seen.nullable or column.nullable,
                description=seen.description or column.description,
            )
    everywhere = len(members)
    return replace(
        first,
        columns=tuple(
            column if present[column.name] == everywhere else replace(column, nullable=True)
            for column in columns.values()
        ),
    )


def union_tables(variants: Sequence[Variant]) -> dict[str, TableSchema]:
    """Table name -> the warehouse table every variant that writes it shares."""
    groups: dict[str, list[tuple[Path, TableSchema]]] = {}
    for variant in variants:
        for table in variant.tables:
            groups.setdefault(table.name, []).append((variant.file, table))
    return {name: _union_of(name, members) for name, members in groups.items()}


def load_table_union(
    vendor: str, entity: str, mappings_dir: Path | str | None = None
) -> dict[str, TableSchema]:
    """The warehouse tables of (vendor, entity): the union of its mapping variants."""
    return union_tables(mapping_variants(vendor, entity, mappings_dir))
