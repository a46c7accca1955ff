"""The quality stage: Pandera gates built from the mappings, scores, anomalies and drift.

No Dagster here. `model.py` holds the values the stage hands to the others (a sync's
validation report, its column profile, its scores and findings); `metrics.py` the warehouse
tables that keep their history. The gate of every sync: `checks.py` and `formats.py` (the
registered checks and formats a mapping may name), `rules.py` (an entity's rules, compiled
from its mapping) and `gate.py` (the Pandera schemas, per-record reasons, the report and
`QualityGateError`).
"""
