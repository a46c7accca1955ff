"""Mapping stage: vendor records in, warehouse rows out, driven by `mappings/*.json`.

`load_mapping` reads and validates a mapping file (the one of the connection's API, plus the
connection's override),
`compile_mapping` turns it into the output `TableSchema`s and a fast `map_records`.
Nothing here knows about Dagster, HTTP or the warehouse.
"""

from integration_assets.mapping.apis import default_api
from integration_assets.mapping.compiler import CompiledMapping, compile_mapping
from integration_assets.mapping.converters import ConversionError
from integration_assets.mapping.errors import MappingError, Problem
from integration_assets.mapping.loader import (
    MAPPINGS_ENV_VAR,
    MappingFile,
    available_mappings,
    default_mappings_dir,
    load_mapping,
    mapping_apis,
    mapping_files,
    mapping_path,
    override_path,
    read_mapping_file,
    validate_mapping,
)
from integration_assets.mapping.overrides import apply_override
from integration_assets.mapping.spec import (
    ChildTable,
    EnumMap,
    FieldMapping,
    MappingSpec,
    NestedMapping,
)
from integration_assets.mapping.transforms import TRANSFORMS, TransformError

__all__ = [
    "MAPPINGS_ENV_VAR",
    "TRANSFORMS",
    "ChildTable",
    "CompiledMapping",
    "ConversionError",
    "EnumMap",
    "FieldMapping",
    "MappingError",
    "MappingFile",
    "MappingSpec",
    "NestedMapping",
    "Problem",
    "TransformError",
    "apply_override",
    "available_mappings",
    "compile_mapping",
    "default_api",
    "default_mappings_dir",
    "load_mapping",
    "mapping_apis",
    "mapping_files",
    "mapping_path",
    "override_path",
    "read_mapping_file",
    "validate_mapping",
]
