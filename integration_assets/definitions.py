"""The `Definitions` that `workspace.yaml` and `dagster dev` load."""

from integration_assets.orchestration.definitions_factory import build_definitions

defs = build_definitions()
