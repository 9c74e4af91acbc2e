"""The feedback store: prediction log, labels, audit log, policy arms and monitoring metrics.

`FeedbackStore(url)` brings the schema to the latest Alembic revision when it opens. Revisions
live in `migrations/versions/`; author one with `uv run alembic revision --autogenerate -m ...`
(root alembic.ini, against FRAUD_DB_URL) and check models and revisions with `alembic check`.
"""

from fraud_core.store.frames import features_frame
from fraud_core.store.rows import RowError
from fraud_core.store.store import (
    FeedbackStore,
    LabelUpsertResult,
    RejectedLabel,
    ThresholdArm,
)

__all__ = [
    "FeedbackStore",
    "LabelUpsertResult",
    "RejectedLabel",
    "RowError",
    "ThresholdArm",
    "features_frame",
]
