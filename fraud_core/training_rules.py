"""The retraining recipe and the validation gate's rules, defined once and light to import (no
numpy): the code location declares `trained_model`'s and `validation_gate`'s config defaults
from them as it loads. `fraud_core.training` applies them."""

from __future__ import annotations

from dataclasses import dataclass

from fraud_core.policy import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class Recipe:
    """XGBoost hyper-parameters; `scale_pos_weight=None` uses legit/fraud of the training rows
    (before downsampling). `legit_keep_fraction` < 1 keeps that share of the legitimate
    training rows, each weighted 1/fraction (`downsample_legit`)."""

    max_depth: int = 6
    n_estimators: int = 200
    learning_rate: float = 0.1
    scale_pos_weight: float | None = None
    seed: int = 0
    legit_keep_fraction: float = 1.0


@dataclass(frozen=True)
class GatePolicy:
    """When a candidate may replace the champion (relative rules) or be the first (floors)."""

    threshold: float = DEFAULT_THRESHOLD
    min_f1_gain: float = 0.02
    fpr_tolerance: float = 0.0
    segment_fpr_tolerance: float = 0.02
    segment_recall_tolerance: float = 0.10
    segment_recall_alpha: float = 0.05
    """A segment's recall loss counts only with this evidence: one-sided exact sign test on
    the segment's frauds that one model catches and the other misses (`fraud_flips`)."""
    min_segment_rows: int = 500
    min_segment_frauds: int = 10
    floor_recall: float = 0.5
    floor_precision: float = 0.05
    floor_pr_auc: float = 0.2
    max_fpr: float = 0.05
