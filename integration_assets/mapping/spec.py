"""The mapping spec: how one vendor entity becomes warehouse rows, as validated data.

A mapping file (`mappings/<vendor>/<entity>.json`, or `mappings/<vendor>/<api>/<entity>.json`
for a vendor with several APIs) is parsed into `MappingSpec`. Everything
that can be checked without seeing a record is checked here, so a broken file fails when it
is loaded rather than halfway through a sync: identifiers (they become SQL table and column
names), duplicate targets, primary keys and the upsert-guard column naming mapped columns,
defaults that fit their column type, child tables keyed to their parent.

The models forbid unknown keys (a typo such as `requried` is an error, not a silent no-op)
and are built to grow: later fields (conflict and quality rules, flatten-into-columns) are new
optional attributes or new kinds of mapping entry. A field may `transform` its raw value with
named functions and map it through an `enum` table (`transforms.py`) before conversion: that
is how two APIs of one vendor fill the same column with the same value.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    WithJsonSchema,
    model_validator,
)

from integration_assets.mapping.converters import ConversionError, converter_for
from integration_assets.mapping.transforms import TRANSFORMS, UnknownPolicy
from integration_assets.paths import parse_path
from integration_assets.quality.checks import ENTITY_CHECKS, FIELD_CHECKS, EntityTables
from integration_assets.quality.formats import FORMATS
from integration_assets.quality.model import DEFAULT_THRESHOLD
from integration_assets.quality.settings import (
    AnomalySettings,
    DriftSettings,
    QualitySettings,
)
from integration_assets.schema import (
    IDENTIFIER_REGEX,
    METADATA_COLUMNS,
    ColumnSchema,
    ColumnType,
    TableSchema,
    is_identifier,
)

# The project's identifier rule (`schema.py`), minus a leading '_' (reserved for metadata columns).
IDENTIFIER_PATTERN = rf"^(?!_){IDENTIFIER_REGEX}$"
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# Keys cannot be free text, floats or JSON blobs: they must compare exactly.
_KEY_TYPES = frozenset(
    {ColumnType.STRING, ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.DATE}
    | {ColumnType.DATETIME, ColumnType.BOOLEAN}
)


def check_identifier(value: str) -> str:
    """A table or column name we can safely create: lower snake case, 1-63 chars."""
    if value.startswith("_"):
        raise ValueError(
            f"{value!r} starts with '_', which is reserved for metadata columns "
            f"({', '.join(METADATA_COLUMNS)})"
        )
    if not is_identifier(value):
        raise ValueError(
            f"{value!r} is not a valid identifier: use 1-63 lower-case letters, digits and "
            "underscores, starting with a letter"
        )
    return value


def _check_source_path(value: str) -> str:
    parse_path(value)
    return value


Identifier = Annotated[
    str,
    AfterValidator(check_identifier),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": IDENTIFIER_PATTERN,
            "description": "Lower snake case table or column name; '_' prefix is reserved.",
        }
    ),
]
SourcePath = Annotated[
    str,
    AfterValidator(_check_source_path),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "pattern": r"^[^.\s*]([^.*\t\n\r\f\v]*[^.\s*])?(\.[^.\s*]([^.*\t\n\r\f\v]*[^.\s*])?)*$",
            "description": "Dotted path into the raw record; numeric segments index lists.",
        }
    ),
]


def _check_transform(value: str) -> str:
    if value not in TRANSFORMS:
        raise ValueError(f"unknown transform {value!r} (known: {', '.join(sorted(TRANSFORMS))})")
    return value


TransformName = Annotated[
    str,
    AfterValidator(_check_transform),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(TRANSFORMS),
            "description": "; ".join(
                f"{name}: {TRANSFORMS[name].description}" for name in sorted(TRANSFORMS)
            ),
        }
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _registered(kind: str, known: dict[str, Any]) -> Any:
    def check(value: str) -> str:
        if value not in known:
            raise ValueError(f"unknown {kind} {value!r} (known: {', '.join(sorted(known))})")
        return value

    return Annotated[
        str,
        AfterValidator(check),
        WithJsonSchema(
            {
                "type": "string",
                "enum": sorted(known),
                "description": "; ".join(
                    f"{name}: {known[name].description}" for name in sorted(known)
                ),
            }
        ),
    ]


FormatName = _registered("format", FORMATS)
FieldCheckName = _registered("field check", FIELD_CHECKS)
EntityCheckName = _registered("entity check", ENTITY_CHECKS)
_NUMERIC = frozenset({ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.DECIMAL})


class FieldQuality(_Model):
    """A field's quality rules; a record breaking any of them is quarantined, not loaded."""

    format: FormatName | None = Field(  # type: ignore[valid-type]
        default=None, description="A named format every non-null value must have."
    )
    min: float | None = Field(default=None, description="Smallest allowed value (numbers).")
    max: float | None = Field(default=None, description="Largest allowed value (numbers).")
    pattern: str | None = Field(
        default=None, description="Regular expression every non-null value must match whole."
    )
    unique: bool = Field(
        default=False,
        description="No two different records of a batch share a value (two versions of one "
        "record may).",
    )
    checks: list[FieldCheckName] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Registered field checks (quality/checks.py)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> FieldQuality:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regex: {exc}") from None
        _reject_duplicates(list(self.checks), "checks")
        return self

    def problems_for(self, column: str, column_type: ColumnType) -> list[str]:
        """What does not fit the column's type (a format on a number, a range on text)."""
        problems = []
        text = column_type is ColumnType.STRING
        if self.format is not None and not text:
            problems.append(f"format {self.format!r} needs a string column")
        if self.pattern is not None and not text:
            problems.append("pattern needs a string column")
        if (self.min is not None or self.max is not None) and column_type not in _NUMERIC:
            problems.append("min/max need an integer, float or decimal column")
        if self.unique and column_type is ColumnType.JSON:
            problems.append("unique cannot apply to a json column")
        for name in self.checks:
            if column_type not in FIELD_CHECKS[name].types:
                kinds = ", ".join(sorted(kind.value for kind in FIELD_CHECKS[name].types))
                problems.append(f"check {name!r} needs a {kinds} column")
        return [
            f"quality of {column!r}: {problem}, not {column_type.value}" for problem in problems
        ]


_ANOMALY = AnomalySettings()
_DRIFT = DriftSettings()
_SETTINGS = QualitySettings()


class AnomalyQuality(_Model):
    """Robust baselines of volume, null rate and distinct count (see quality/settings.py)."""

    sensitivity: float = Field(default=_ANOMALY.sensitivity, gt=0)
    min_history: int = Field(default=_ANOMALY.min_history, ge=1)
    seasonal_min_history: int = Field(default=_ANOMALY.seasonal_min_history, ge=1)


class DriftQuality(_Model):
    """Distribution drift against earlier syncs (see quality/settings.py)."""

    psi_threshold: float = Field(default=_DRIFT.psi_threshold, gt=0)
    wasserstein_threshold: float = Field(default=_DRIFT.wasserstein_threshold, gt=0)
    js_threshold: float = Field(default=_DRIFT.js_threshold, gt=0, le=1)
    reference_syncs: int = Field(default=_DRIFT.reference_syncs, ge=1)
    min_rows: int = Field(default=_DRIFT.min_rows, ge=1)
    columns: dict[Identifier, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Per-column threshold, overriding the metric's."
    )
    exclude: list[Identifier] = Field(default_factory=list, description="Columns never compared.")


class EntityQuality(_Model):
    """The entity's quality settings: the gate's threshold, its checks, detectors' knobs."""

    threshold: float = Field(
        default=DEFAULT_THRESHOLD,
        ge=0,
        le=1,
        description="Pass rate under which a sync publishes no row.",
    )
    checks: list[EntityCheckName] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Registered entity checks (quality/checks.py)."
    )
    anomaly: AnomalyQuality = Field(default_factory=AnomalyQuality)
    drift: DriftQuality = Field(default_factory=DriftQuality)
    score_drop_alert: float = Field(default=_SETTINGS.score_drop_alert, ge=0)

    def settings(self) -> QualitySettings:
        """As the quality stage reads them."""
        return QualitySettings(
            threshold=self.threshold,
            anomaly=AnomalySettings(
                sensitivity=self.anomaly.sensitivity,
                min_history=self.anomaly.min_history,
                seasonal_min_history=self.anomaly.seasonal_min_history,
            ),
            drift=DriftSettings(
                psi_threshold=self.drift.psi_threshold,
                wasserstein_threshold=self.drift.wasserstein_threshold,
                js_threshold=self.drift.js_threshold,
                reference_syncs=self.drift.reference_syncs,
                min_rows=self.drift.min_rows,
                column_thresholds=dict(self.drift.columns),
                exclude=tuple(self.drift.exclude),
            ),
            score_drop_alert=self.score_drop_alert,
        )


class EnumMap(_Model):
    """Vendor values to column values (after any transform), e.g. `UNFULFILLED` → null."""

    values: dict[str, JsonValue] = Field(
        min_length=1, description="Vendor value → column value (null allowed)."
    )
    unknown: UnknownPolicy = Field(
        default=UnknownPolicy.ERROR,
        description="A value not listed: 'error' quarantines the record naming it, 'keep' "
        "passes it on unchanged, 'null' gives the column no value.",
    )


class FieldMapping(_Model):
    """One raw value → one column."""

    source: SourcePath | None = Field(
        description="Dotted path of the raw value. null: the records of this API have no such "
        "value, and the column is kept (always NULL) so that every API variant of the entity "
        "describes the same table; say why in the description."
    )
    target: Identifier
    type: ColumnType
    required: bool = Field(default=False, description="A record without a value here is rejected.")
    default: JsonValue = Field(
        default=None, description="Used when the source value is missing or null."
    )
    transform: TransformName | list[TransformName] | None = Field(
        default=None,
        description="Named transforms applied in order to the raw value before conversion.",
    )
    enum: EnumMap | None = Field(
        default=None, description="Maps the (transformed) raw value before conversion."
    )
    quality: FieldQuality | None = Field(
        default=None, description="Rules the mapped value must pass to be loaded."
    )
    description: str = ""

    @property
    def transforms(self) -> tuple[str, ...]:
        """The transform names, in the order they apply."""
        if self.transform is None:
            return ()
        return (self.transform,) if isinstance(self.transform, str) else tuple(self.transform)

    @model_validator(mode="after")
    def _sourceless_is_always_null(self) -> FieldMapping:
        if self.source is not None:
            return self
        given = [
            name
            for name, value in (
                ("required", self.required),
                ("default", self.default is not None),
                ("transform", self.transform is not None),
                ("enum", self.enum is not None),
            )
            if value
        ]
        if given:
            raise ValueError(
                f"field {self.target!r} has no source (always NULL), so it cannot have "
                f"{', '.join(given)}"
            )
        return self

    @model_validator(mode="after")
    def _value_steps_fit_type(self) -> FieldMapping:
        convert = converter_for(self.type)
        if self.enum is not None:
            for vendor_value, value in self.enum.values.items():
                if value is None:
                    continue
                try:
                    convert(value)
                except ConversionError as exc:
                    raise ValueError(
                        f"enum value of {vendor_value!r} for {self.target!r}: {exc.describe()}"
                    ) from None
        elif self.transforms and self.type is not ColumnType.JSON:
            last = self.transforms[-1]
            produces = TRANSFORMS[last].produces
            if self.type not in produces:
                kinds = " or ".join(sorted(kind.value for kind in produces))
                raise ValueError(
                    f"transform {last!r} gives {kinds} values; column {self.target!r} is "
                    f"{self.type.value}"
                )
        return self

    @model_validator(mode="after")
    def _quality_fits_type(self) -> FieldMapping:
        if self.quality is not None:
            problems = self.quality.problems_for(self.target, self.type)
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _default_fits_type(self) -> FieldMapping:
        if self.default is None:
            return self
        if self.required:
            raise ValueError(
                f"field {self.target!r} is required and has a default; a default makes a "
                "missing value acceptable, so choose one"
            )
        try:
            converter_for(self.type)(self.default)
        except ConversionError as exc:
            raise ValueError(f"default of {self.target!r}: {exc.describe()}") from None
        return self


class ChildTable(_Model):
    """A list inside each record expanded into rows of a table keyed to the parent row."""

    table: Identifier
    primary_key: list[Identifier] = Field(min_length=1)
    parent_key: dict[Identifier, Identifier] = Field(
        min_length=1,
        description="Child column → parent column; together they must cover the parent's "
        "primary key.",
    )
    description: str = ""
    mappings: list[FieldMapping] = Field(min_length=1)

    @model_validator(mode="after")
    def _columns_consistent(self) -> ChildTable:
        targets = [field.target for field in self.mappings]
        _reject_duplicates(targets, f"table {self.table!r}")
        clash = sorted(set(targets) & set(self.parent_key))
        if clash:
            raise ValueError(
                f"table {self.table!r}: {clash} are both mapped fields and parent_key columns"
            )
        _reject_duplicates(self.primary_key, f"table {self.table!r} primary_key")
        fields = {field.target: field for field in self.mappings}
        for column in self.primary_key:
            if column not in self.parent_key:
                _check_key_column(column, fields, f"table {self.table!r} primary_key")
        return self


class NestedMapping(_Model):
    """A mapping entry whose source is a list expanded into a child table."""

    source: SourcePath
    nested: ChildTable
    description: str = ""


def _entry_kind(entry: Any) -> str:
    if isinstance(entry, dict):
        return "nested" if "nested" in entry else "field"
    return "nested" if isinstance(entry, NestedMapping) else "field"


MappingEntry = Annotated[
    Annotated[FieldMapping, Tag("field")] | Annotated[NestedMapping, Tag("nested")],
    Discriminator(_entry_kind),
]


class MappingSpec(_Model):
    """A whole mapping file."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    json_schema: str | None = Field(
        default=None,
        alias="$schema",
        description="Path or URL of mapping.schema.json, for editors; ignored otherwise.",
    )
    integration: str = Field(pattern=NAME_PATTERN, description="Vendor name, e.g. shopify.")
    api: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="The vendor API whose records this file maps, e.g. graphql or rest; "
        "files of a vendor with several APIs live in mappings/<vendor>/<api>/.",
    )
    entity: str = Field(pattern=NAME_PATTERN, description="Vendor entity, e.g. customers.")
    table: Identifier
    primary_key: list[Identifier] = Field(min_length=1)
    source_updated_at: Identifier | None = Field(
        default=None,
        description="Datetime column whose value guards upserts: an older record never "
        "overwrites a newer one.",
    )
    description: str = ""
    quality: EntityQuality | None = Field(
        default=None, description="The entity's quality gate threshold, checks and detectors."
    )
    mappings: list[MappingEntry] = Field(min_length=1)

    @property
    def quality_settings(self) -> QualitySettings:
        return self.quality.settings() if self.quality is not None else QualitySettings()

    def entity_tables(self) -> EntityTables:
        """The tables as the quality checks see them (columns and types, no union)."""

        def table(name: str, fields: tuple[FieldMapping, ...] | list[FieldMapping]) -> TableSchema:
            columns = tuple(ColumnSchema(field.target, field.type) for field in fields)
            return TableSchema(name=name, columns=columns, primary_key=())

        children = tuple(
            table(child.nested.table, child.nested.mappings) for child in self.children
        )
        return EntityTables(table(self.table, self.fields), children, self.source_updated_at)

    @property
    def fields(self) -> tuple[FieldMapping, ...]:
        """The entries that become columns of the parent table."""
        return tuple(entry for entry in self.mappings if isinstance(entry, FieldMapping))

    @property
    def children(self) -> tuple[NestedMapping, ...]:
        """The entries that become child tables, in file order."""
        return tuple(entry for entry in self.mappings if isinstance(entry, NestedMapping))

    def field(self, target: str) -> FieldMapping:
        for entry in self.fields:
            if entry.target == target:
                return entry
        raise KeyError(f"mapping {self.integration}/{self.entity} has no field {target!r}")

    @model_validator(mode="after")
    def _consistent(self) -> MappingSpec:
        targets = [field.target for field in self.fields]
        _reject_duplicates(targets, f"table {self.table!r}")
        _reject_duplicates(self.primary_key, "primary_key")
        fields = {field.target: field for field in self.fields}
        types = {target: field.type for target, field in fields.items()}
        for column in self.primary_key:
            _check_key_column(column, fields, "primary_key")
        if self.source_updated_at is not None:
            if self.source_updated_at not in types:
                raise ValueError(
                    f"source_updated_at {self.source_updated_at!r} is not a mapped target "
                    f"(targets: {', '.join(targets)})"
                )
            if types[self.source_updated_at] is not ColumnType.DATETIME:
                raise ValueError(
                    f"source_updated_at {self.source_updated_at!r} must be a datetime column, "
                    f"not {types[self.source_updated_at].value}"
                )
        self._check_children()
        self._check_quality(targets)
        return self

    def _check_quality(self, targets: list[str]) -> None:
        if self.quality is None:
            return
        _reject_duplicates(list(self.quality.checks), "quality.checks")
        tables = self.entity_tables()
        for name in self.quality.checks:
            problem = ENTITY_CHECKS[name].requires(tables)
            if problem is not None:
                raise ValueError(f"quality check {name!r} {problem}")
        drift = self.quality.drift
        unknown = sorted((set(drift.columns) | set(drift.exclude)) - set(targets))
        if unknown:
            raise ValueError(
                f"quality.drift names columns the table lacks: {', '.join(unknown)} "
                f"(targets: {', '.join(targets)})"
            )

    def _check_children(self) -> None:
        _reject_duplicates([child.source for child in self.children], "nested sources")
        tables = [self.table, *(child.nested.table for child in self.children)]
        _reject_duplicates(tables, "table names")
        for child in self.children:
            parent_columns = set(child.nested.parent_key.values())
            if parent_columns != set(self.primary_key) or len(child.nested.parent_key) != len(
                self.primary_key
            ):
                raise ValueError(
                    f"table {child.nested.table!r}: parent_key must map one child column to "
                    f"each parent primary key column {self.primary_key}, "
                    f"got {child.nested.parent_key}"
                )


def _reject_duplicates(names: list[str], where: str) -> None:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{where}: duplicate {', '.join(map(repr, duplicates))}")


def _check_key_column(column: str, fields: dict[str, FieldMapping], where: str) -> None:
    if column not in fields:
        raise ValueError(
            f"{where} column {column!r} is not a mapped target (targets: {', '.join(fields)})"
        )
    field = fields[column]
    if field.source is None:
        raise ValueError(f"{where} column {column!r} cannot be a key: it has no source")
    if field.type not in _KEY_TYPES:
        raise ValueError(f"{where} column {column!r} cannot be a key: type {field.type.value}")
    if field.default is not None:
        raise ValueError(f"{where} column {column!r} cannot have a default: keys come from data")
