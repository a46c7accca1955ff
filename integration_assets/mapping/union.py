"""The warehouse tables of an entity: the union of every variant of its mapping.

A vendor with several APIs (Shopify: GraphQL and REST) has one mapping file per API, and a
connection may switch API at any time: each API variant must therefore describe exactly the
same tables (names, columns in order, types, nullability, keys, guard column, parents), or a
switched connection would write a different table. A difference is a `MappingError` naming
both files. Descriptions may differ (they say where each API keeps the value).

All connections of a vendor share one table per (vendor, entity) (`_connection` leads the
key), but each connection may have an override that adds, removes or retypes fields. If each
connection created the table from its own mapping, a column one shop's override adds would be
schema drift for every other shop, and a field an override removes would be missing from its
own. So the warehouse table is the union of the vendor mapping and every override of that
entity found in `mappings/overrides/*/` (whatever `connections.yaml` says today: an override
on disk is a table shape someone intends to load). An override applies to the mapping of the
API it declares (`"api"`), else to the first API mapping it fits (the default API first: an
override written before its vendor had several APIs names the old API's fields); since the API
variants agree, that gives the table shape whichever API the connection uses:

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
    mapping_apis,
    mapping_path,
    mappings_root,
    read_json,
)
from integration_assets.mapping.spec import MappingSpec
from integration_assets.schema import ColumnSchema, TableSchema


@dataclass(frozen=True)
class Variant:
    """The tables one mapping file (the vendor's, or an override applied to it) describes."""

    file: Path
    tables: tuple[TableSchema, ...]


def mapping_variants(
    vendor: str, entity: str, mappings_dir: Path | str | None = None
) -> list[Variant]:
    """The vendor's API mappings (default API first), then every override of `entity`,
    sorted by connection name. API variants that describe different tables are refused."""
    apis = mapping_apis(vendor, entity, mappings_dir)
    if not apis:  # load_mapping says which files exist
        load_mapping(vendor, entity, mappings_dir=mappings_dir)
    variants = []
    for api in apis:
        spec = load_mapping(vendor, entity, mappings_dir=mappings_dir, api=api)
        file = mapping_path(vendor, entity, mappings_dir, api=api)
        variants.append(Variant(file, compile_mapping(spec).own_tables))
    for other in variants[1:]:
        _check_same_tables(variants[0], other)
    overrides = mappings_root(mappings_dir) / OVERRIDES_DIR
    for override in sorted(overrides.glob(f"*/{entity}.json")):
        data = read_json(override)
        if isinstance(data, dict) and data.get("integration", vendor) != vendor:
            continue
        declared = data.get("api") if isinstance(data, dict) else None
        candidates = (declared,) if isinstance(declared, str) else apis
        spec = _override_on_some_api(vendor, entity, override.parent.name, mappings_dir, candidates)
        variants.append(Variant(override, compile_mapping(spec).own_tables))
    return variants


def _override_on_some_api(
    vendor: str,
    entity: str,
    connection: str,
    mappings_dir: Path | str | None,
    apis: tuple[str | None, ...],
) -> MappingSpec:
    """The override applied to the first API mapping (default first) it fits.

    An override that does not declare its API was written for the API its connection used,
    which only `connections.yaml` knows: REST paths patched into the GraphQL mapping would
    not validate. The API mappings describe the same tables, so the one it fits gives its
    table shape; the connection's own API is checked when it syncs.
    """
    errors: list[MappingError] = []
    for api in apis:  # never empty: the entity has a mapping file
        try:
            return load_mapping(
                vendor, entity, connection=connection, mappings_dir=mappings_dir, api=api
            )
        except MappingError as exc:
            errors.append(exc)
    raise errors[0]  # as applied to the default API


def _shape(table: TableSchema) -> TableSchema:
    """The table without its descriptions: what the warehouse holds."""
    return replace(
        table,
        description="",
        columns=tuple(replace(column, description="") for column in table.columns),
    )


def _table_difference(here: TableSchema, there: TableSchema) -> str:
    for what in ("primary_key", "source_updated_at", "parent", "parent_key"):
        if getattr(here, what) != getattr(there, what):
            return f"{what} is {getattr(here, what)!r} here but {getattr(there, what)!r}"
    names_here = [column.name for column in here.columns]
    names_there = [column.name for column in there.columns]
    if names_here != names_there:
        only_here = [name for name in names_here if name not in names_there]
        only_there = [name for name in names_there if name not in names_here]
        if only_here and only_there:
            return f"columns {only_here} are here but not, and {only_there} not here but"
        if only_here:
            return f"columns {only_here} are here but not"
        if only_there:
            return f"columns {only_there} are not here but"
        return f"the columns are in the order {names_here} here but {names_there}"
    for mine, theirs in zip(here.columns, there.columns, strict=True):
        if mine != theirs:
            return f"column {mine.name!r} is {_describe(mine)} here but {_describe(theirs)}"
    return "the tables differ"


def _describe(column: ColumnSchema) -> str:
    return f"{column.type.value} {'NULL' if column.nullable else 'NOT NULL'}"


def _check_same_tables(first: Variant, other: Variant) -> None:
    """Two API mappings of one entity must describe identical tables."""
    mine = {table.name: _shape(table) for table in other.tables}
    theirs = {table.name: _shape(table) for table in first.tables}
    if list(mine) != list(theirs):
        problem = f"describes tables {list(mine)} but {first.file} describes {list(theirs)}"
    else:
        differing = [name for name in mine if mine[name] != theirs[name]]
        if not differing:
            return
        name = differing[0]
        difference = _table_difference(mine[name], theirs[name])
        problem = f"table {name!r}: {difference} in {first.file}"
    message = (
        f"{problem}; the API mappings of one entity must describe identical tables, so that a "
        "connection that switches API writes the same table"
    )
    raise MappingError(other.file, [Problem("", message)])


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
