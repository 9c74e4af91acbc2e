"""The feedback store: prediction log, labels, audit log, policy arms and monitoring metrics."""

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
