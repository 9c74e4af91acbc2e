"""The Arrow schema of a lake partition: the `predictions` columns, features as float32."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from fraud_core.features import FEATURE_NAMES
from fraud_core.store.models import predictions
from fraud_core.store.rows import kind_of

if TYPE_CHECKING:
    import pyarrow as pa

FEATURE_PREFIX = "features."
"""Feature `x` is column `features.x` (the log's own `amount_usd` is a float64 column too)."""
PREDICTION_COLUMNS = tuple(c.name for c in predictions.columns if c.name != "features")
"""Every `predictions` column but the JSON features, `id` included."""
DECISION_COLUMNS = tuple(
    c
    for c in PREDICTION_COLUMNS
    if c
    not in (
        "scored_at", "customer_hash", "amount", "currency", "wallet_provider", "channel",
        "card_present", "merchant_country", "merchant_category", "feature_version",
    )
)  # fmt: skip
"""What monitoring and threshold learning read of the log: the decision, its context, amount
and segments (no customer hash, no raw transaction fields: a third of the memory)."""


@cache
def lake_schema() -> pa.Schema:
    import pyarrow as pa

    types = {
        "str": pa.string(),
        "float": pa.float64(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "time": pa.timestamp("us", tz="UTC"),
    }
    fields = [
        pa.field(name, pa.int64() if name == "id" else types[kind_of(predictions.c[name])])
        for name in PREDICTION_COLUMNS
    ]
    fields += [pa.field(FEATURE_PREFIX + name, pa.float32()) for name in FEATURE_NAMES]
    return pa.schema(fields)
