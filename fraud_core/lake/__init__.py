"""The columnar history: one Parquet partition per UTC day of the prediction log, features as
float32 columns, read column-pruned day by day. PostgreSQL `predictions` stays the online log;
labels are joined from the store at read time (they keep arriving for months)."""

from fraud_core.lake.lake import Lake, day_keys
from fraud_core.lake.schema import (
    DECISION_COLUMNS,
    FEATURE_PREFIX,
    PREDICTION_COLUMNS,
    lake_schema,
)

__all__ = [
    "DECISION_COLUMNS",
    "FEATURE_PREFIX",
    "PREDICTION_COLUMNS",
    "Lake",
    "day_keys",
    "lake_schema",
]
