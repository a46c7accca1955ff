"""Compiles a `MappingSpec` into the tables it writes and a fast record → rows function.

Compilation does all the per-mapping work once (split paths, pick converters, convert
defaults, generate the row functions) so that mapping a record is only the per-record work.
A record is all or nothing: if any field of the record or of any of its nested items fails,
the record is rejected with every reason and none of its rows are emitted, so the warehouse
never holds an order without some of its line items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from integration_assets.mapping import reasons
from integration_assets.mapping.codegen import FieldPlan, RowFunction, build_row_function
from integration_assets.mapping.converters import converter_for
from integration_assets.mapping.masking import is_personal_name
from integration_assets.mapping.spec import FieldMapping, MappingSpec, NestedMapping
from integration_assets.mapping.transforms import TRANSFORMS, Steps, chain, enum_function
from integration_assets.paths import Getter, PathError, build_getter, parse_path
from integration_assets.quality.rules import FieldRule, QualityRules
from integration_assets.quality.settings import QualitySettings
from integration_assets.schema import (
    ColumnSchema,
    MappedBatch,
    RejectedRecord,
    Row,
    TableSchema,
    join_key,
)

NOT_A_DICT_KEY = "value"


def _value_steps(field: FieldMapping) -> Steps | None:
    """The field's transforms, then its enum map, as one callable (None: the raw value as is)."""
    steps = [TRANSFORMS[name].function for name in field.transforms]
    if field.enum is not None:
        steps.append(enum_function(field.enum.values, field.enum.unknown))
    return chain(steps)


def _plan(field: FieldMapping, key_columns: tuple[str, ...]) -> FieldPlan:
    segments = parse_path(field.source) if field.source is not None else ()
    convert = converter_for(field.type)
    return FieldPlan(
        target=field.target,
        source=field.source,
        segments=segments,
        getter=build_getter(segments) if segments else None,
        transform=_value_steps(field),
        convert=convert,
        column_type=field.type,
        required=field.required or field.target in key_columns,
        default=None if field.default is None else convert(field.default),
        # Contact data, names, places, free text: never shown in a reason (see masking).
        sensitive=is_personal_name(field.target) or is_personal_name(field.source or ""),
    )


def _field_rule(field: FieldMapping, plan: FieldPlan) -> FieldRule:
    quality = field.quality
    if quality is None:
        return FieldRule(plan.target, plan.column_type, plan.required, sensitive=plan.sensitive)
    return FieldRule(
        column=plan.target,
        type=plan.column_type,
        required=plan.required,
        format=quality.format,
        min=quality.min,
        max=quality.max,
        pattern=quality.pattern,
        unique=quality.unique,
        checks=tuple(quality.checks),
        sensitive=plan.sensitive,
    )


def _columns(plans: Iterable[FieldPlan], fields: Iterable[FieldMapping]) -> list[ColumnSchema]:
    return [
        ColumnSchema(
            name=plan.target,
            type=plan.column_type,
            nullable=not plan.required,
            description=field.description,
        )
        for plan, field in zip(plans, fields, strict=True)
    ]


@dataclass(frozen=True)
class _ChildPlan:
    """How to expand one nested list of a record into child rows."""

    table: str
    source: str
    getter: Getter
    map_row: RowFunction

    def rows(self, record: dict[str, Any], parent_row: Row, errors: list[str]) -> list[Row]:
        try:
            items = self.getter(record)
        except PathError as exc:
            errors.append(f"{self.table} (source {self.source}): {exc}")
            return []
        if items is None:
            return []
        if type(items) is not list:
            errors.append(f"{self.table} (source {self.source}): {reasons.not_a_list(items)}")
            return []
        map_row = self.map_row
        rows = []
        for index, item in enumerate(items):
            if type(item) is dict:
                rows.append(map_row(item, errors, index, parent_row))
            else:
                where = f"{self.table} (source {self.source}[{index}])"
                errors.append(f"{where}: {reasons.not_an_object(item)}")
        return rows


Padding = Callable[[TableSchema], tuple[str, ...]]


def _no_padding(table: TableSchema) -> tuple[str, ...]:
    return ()


def _compile_child(
    spec: MappingSpec, parent: TableSchema, entry: NestedMapping, padding: Padding
) -> tuple[TableSchema, _ChildPlan]:
    child = entry.nested
    by_parent_column = {parent_column: column for column, parent_column in child.parent_key.items()}
    parent_key = tuple((by_parent_column[key], key) for key in spec.primary_key)
    key_columns = tuple(child.primary_key)
    plans = [_plan(field, key_columns) for field in child.mappings]
    key_schema = [
        ColumnSchema(
            name=column,
            type=parent.column(parent_column).type,
            nullable=False,
            description=f"Key of the parent row in {parent.name} ({parent_column}).",
        )
        for column, parent_column in parent_key
    ]
    table = TableSchema(
        name=child.table,
        columns=(*key_schema, *_columns(plans, child.mappings)),
        primary_key=key_columns,
        parent=parent.name,
        parent_key=tuple(column for column, _ in parent_key),
        description=child.description or entry.description,
    )
    segments = parse_path(entry.source)
    plan = _ChildPlan(
        table=child.table,
        source=entry.source,
        getter=build_getter(segments),
        map_row=build_row_function(
            child.table, plans, parent_key, list_source=entry.source, padding=padding(table)
        ),
    )
    return table, plan


class CompiledMapping:
    """A mapping ready to run: its output tables and the functions that fill them.

    `own_tables` are the tables as this mapping alone describes them. `tables` are what the
    warehouse holds: the same, or, when compiled with the union of every variant of the
    entity (the vendor mapping and each connection's override, see `mapping.union`), the
    union tables of the same names, and then every row is padded with None for the columns
    only other variants have.
    """

    def __init__(self, spec: MappingSpec, union: Mapping[str, TableSchema] | None = None) -> None:
        self.spec = spec
        padding = _no_padding if union is None else partial(_padding, union)
        key_columns = tuple(spec.primary_key)
        fields = spec.fields
        self._plans = tuple(_plan(field, key_columns) for field in fields)
        parent = TableSchema(
            name=spec.table,
            columns=tuple(_columns(self._plans, fields)),
            primary_key=key_columns,
            source_updated_at=spec.source_updated_at,
            description=spec.description,
        )
        compiled_children = [
            _compile_child(spec, parent, entry, padding) for entry in spec.children
        ]
        self.own_tables: tuple[TableSchema, ...] = (
            parent,
            *(table for table, _ in compiled_children),
        )
        self.tables: tuple[TableSchema, ...] = (
            self.own_tables
            if union is None
            else tuple(union[table.name] for table in self.own_tables)
        )
        self._children = tuple(plan for _, plan in compiled_children)
        self._map_parent = build_row_function(spec.table, self._plans, padding=padding(parent))
        self._key_plans = tuple(
            next(plan for plan in self._plans if plan.target == column) for column in key_columns
        )
        self.quality: QualitySettings = spec.quality_settings
        self.quality_rules = self._quality_rules()

    def _quality_rules(self) -> QualityRules:
        spec = self.spec
        fields = {spec.table: tuple(map(_field_rule, spec.fields, self._plans))}
        for entry, table in zip(spec.children, self.own_tables[1:], strict=True):
            key_columns = tuple(entry.nested.primary_key)
            fields[table.name] = tuple(
                _field_rule(field, _plan(field, key_columns)) for field in entry.nested.mappings
            )
        return QualityRules(
            tables=spec.entity_tables(),
            fields=fields,
            primary_keys={
                table.name: table.primary_key if table.parent is None else table.parent_key
                for table in self.own_tables
            },
            entity_checks=tuple(spec.quality.checks) if spec.quality else (),
            settings=self.quality,
        )

    @property
    def table(self) -> TableSchema:
        """The parent table."""
        return self.tables[0]

    def record_key(self, record: Any) -> str | None:
        """The record's primary key as text (`|`-joined when composite), None if unusable."""
        if not isinstance(record, dict):
            return None
        values = []
        for plan in self._key_plans:
            try:
                raw = plan.getter(record)
                if raw is not None and plan.transform is not None:
                    raw = plan.transform(raw)
                if raw is None:
                    return None
                values.append(plan.convert(raw))
            except Exception:
                return None
        return join_key(values)

    def _row_key(self, row: Row) -> str | None:
        values = [row[plan.target] for plan in self._key_plans]
        if any(value is None for value in values):
            return None
        return join_key(values)

    def map_records(self, records: Iterable[Any], origins: list[int] | None = None) -> MappedBatch:
        """Map raw records to rows of every table; reject a record whole, with all reasons.

        Never raises for bad data: a record that is not a JSON object, or has any field that
        cannot be converted, becomes a `RejectedRecord` (a non-object is kept under the key
        `value`). Rows keep source order; child rows follow their parent's order. With
        `origins`, the position in `records` of each parent row is appended to it (the quality
        gate finds the raw record of a row it rejects by it).
        """
        map_parent = self._map_parent
        children = self._children
        parent_rows: list[Row] = []
        child_rows: list[list[Row]] = [[] for _ in children]
        rejected: list[RejectedRecord] = []
        errors: list[str] = []  # reused: it is only non-empty for a record being rejected
        for position, record in enumerate(records):
            if type(record) is not dict and not isinstance(record, dict):
                rejected.append(
                    RejectedRecord(
                        record={NOT_A_DICT_KEY: record},
                        reasons=(f"{self.spec.table}: {reasons.not_an_object(record)}",),
                    )
                )
                continue
            row = map_parent(record, errors)
            if children:
                pending = [child.rows(record, row, errors) for child in children]
            if errors:
                rejected.append(RejectedRecord(record, tuple(errors), self._row_key(row)))
                errors.clear()
                continue
            parent_rows.append(row)
            if origins is not None:
                origins.append(position)
            if children:
                for rows, new_rows in zip(child_rows, pending, strict=True):
                    rows.extend(new_rows)
        batch_rows = {self.spec.table: parent_rows}
        for plan, rows in zip(children, child_rows, strict=True):
            batch_rows[plan.table] = rows
        return MappedBatch(rows=batch_rows, rejected=rejected)


def _padding(union: Mapping[str, TableSchema], table: TableSchema) -> tuple[str, ...]:
    wide = union.get(table.name)
    if wide is None:
        raise ValueError(f"the table union has no table {table.name!r}")
    own = {column.name for column in table.columns}
    return tuple(column.name for column in wide.columns if column.name not in own)


def compile_mapping(
    spec: MappingSpec, union: Mapping[str, TableSchema] | None = None
) -> CompiledMapping:
    """Compile a validated spec; cheap enough to call once per run. With `union` (table name
    -> the warehouse table all variants of the entity share), rows are padded to it."""
    return CompiledMapping(spec, union)
