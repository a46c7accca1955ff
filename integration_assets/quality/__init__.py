"""The quality stage: Pandera gates built from the mappings, scores, anomalies and drift.

No Dagster here. `model.py` holds the values the stage hands to the others (a sync's
validation report, its column profile, its scores and findings); `metrics.py` the warehouse
tables that keep their history.
"""
