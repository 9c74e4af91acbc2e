"""From stored predictions to monitoring inputs and `monitoring_metrics` rows.

Metric names written here (read by the scorer into gauges and by dashboards):
- `feature_drift` (one row per monitored column in `feature`, `score` included),
  `drifted_share` and `drift_detected` (0/1: dataset or score drift) from `drift_report`;
- `fpr`, `recall`, `precision`, `decline_rate`, `expected_cost_false_block`,
  `expected_cost_missed_fraud` from `model_performance` (realized, partial labels);
- the same with an `_estimate` suffix from `performance_estimate` (no labels).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_core.drift import DriftResult, monitoring_frame
from fraud_core.features import FEATURE_NAMES

if TYPE_CHECKING:
    import pandas as pd

    from fraud_core.evaluation import Costs
    from fraud_core.model import LoadedModel

ALL = "all"
"""Segment name of a figure over all traffic (stored as a null `segment`)."""
FIGURES = (
    "fpr",
    "recall",
    "precision",
    "decline_rate",
    "expected_cost_false_block",
    "expected_cost_missed_fraud",
)
"""Performance figures; costs are USD per 1,000 predictions (comparable across windows)."""
Key = tuple[str, str, str]
"""(model_version, variant, segment)"""


def scored_frame(predictions: pd.DataFrame, model: LoadedModel) -> pd.DataFrame:
    """Monitored columns of stored predictions, scored again by `model` (not the logged score,
    which may come from another version or variant)."""
    from fraud_core.store import features_frame

    X = features_frame(predictions, FEATURE_NAMES).to_numpy(np.float32)
    return monitoring_frame(X, model.predict(X))


def sample_rows(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """At most `max_rows` rows drawn without replacement, in their original order."""
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    keep = np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's columns and values (independent of the file format it is kept in)."""
    import pandas as pd

    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _row(
    metric: str,
    value: float,
    window: tuple[datetime, datetime],
    source: str,
    computed_at: datetime,
    **tags: Any,
) -> dict[str, Any]:
    return {
        "computed_at": computed_at,
        "window_start": window[0],
        "window_end": window[1],
        "metric": metric,
        "value": float(value),
        "model_version": tags.get("model_version"),
        "variant": tags.get("variant"),
        "segment": tags.get("segment"),
        "feature": tags.get("feature"),
        "source": source,
    }


def drift_rows(
    result: DriftResult,
    *,
    window: tuple[datetime, datetime],
    model_version: str,
    computed_at: datetime,
    source: str = "drift_report",
) -> list[dict[str, Any]]:
    """`feature_drift` per column, then `drifted_share` and `drift_detected` (1.0 or 0.0)."""
    tags = {"model_version": model_version, "variant": "champion"}
    rows = [
        _row("feature_drift", c.score, window, source, computed_at, feature=c.column, **tags)
        for c in result.columns
    ]
    rows.append(_row("drifted_share", result.drifted_share, window, source, computed_at, **tags))
    rows.append(_row("drift_detected", result.detected, window, source, computed_at, **tags))
    return rows


def figure_rows(
    figures: Mapping[tuple[str, str, str], Mapping[str, float]],
    *,
    window: tuple[datetime, datetime],
    computed_at: datetime,
    source: str,
    suffix: str = "",
) -> list[dict[str, Any]]:
    """One row per (model_version, variant, segment) and metric; NaN figures are left out and
    the `all` segment is stored as null."""
    return [
        _row(
            f"{metric}{suffix}",
            value,
            window,
            source,
            computed_at,
            model_version=version,
            variant=variant,
            segment=None if segment == ALL else segment,
        )
        for (version, variant, segment), values in figures.items()
        for metric, value in values.items()
        if value is not None and np.isfinite(value)
    ]


def segment_values(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each row's payment method, country group and amount band (computed once per frame)."""
    from fraud_core.training import SEGMENT_DIMENSIONS, segments_of

    segments = segments_of(frame)
    return {dimension: segments[dimension].to_numpy() for dimension in SEGMENT_DIMENSIONS}


def segment_masks(values: dict[str, np.ndarray], within: np.ndarray) -> dict[str, np.ndarray]:
    """`all`, then `<dimension>=<value>` for payment method, country group and amount band, of
    the rows `within` selects, as masks over the whole frame (`values`: `segment_values`)."""
    masks = {ALL: within}
    for dimension, column in values.items():
        for value in sorted(set(column[within].tolist())):
            masks[f"{dimension}={value}"] = within & (column == value)
    return masks


ESTIMATE_COLUMNS = ("score", "threshold", "decision", "amount_usd", "propensity", "explored")
"""What `evaluation.estimate` reads of a prediction: a group's rows are cut from these only."""


def _figures(metrics: Any) -> dict[str, float]:
    return {
        "fpr": metrics.fpr,
        "recall": metrics.recall,
        "precision": metrics.precision,
        "decline_rate": metrics.decline_rate,
        "expected_cost_false_block": metrics.false_block_per_1000_usd,
        "expected_cost_missed_fraud": metrics.cost_per_1000_usd - metrics.false_block_per_1000_usd,
    }


def _groups(frame: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    versions = frame["model_version"].astype(str).to_numpy()
    variants = frame["variant"].astype(str).to_numpy()
    return [
        (v, var, (versions == v) & (variants == var))
        for v, var in sorted(set(zip(versions, variants, strict=True)))
    ]


def realized_figures(
    frame: pd.DataFrame,
    states: np.ndarray,
    *,
    costs: Costs | None = None,
    min_rows: int = 200,
) -> tuple[dict[Key, dict[str, float]], dict[Key, int]]:
    """Figures per (model_version, variant, segment) from label states (inverse-propensity
    weighted, `fraud_core.evaluation.estimate`), and the labelled rows each rests on.

    Groups resting on fewer than `min_rows` labelled rows are left out.
    """
    from fraud_core.evaluation import estimate

    states = np.asarray(states, dtype=object)
    figures: dict[Key, dict[str, float]] = {}
    support: dict[Key, int] = {}
    values = segment_values(frame)
    read = frame[[c for c in ESTIMATE_COLUMNS if c in frame.columns]]
    for version, variant, in_group in _groups(frame):
        for segment, mask in segment_masks(values, in_group).items():
            rows, row_states = read[mask], states[mask]
            main = estimate(rows, row_states, costs=costs)
            if main.rows_used < min_rows:
                continue
            figures[(version, variant, segment)] = _figures(main.metrics)
            support[(version, variant, segment)] = main.rows_used
    return figures, support


def estimated_figures(
    frame: pd.DataFrame,
    probabilities: np.ndarray,
    *,
    costs: Costs | None = None,
    min_rows: int = 200,
) -> tuple[dict[Key, dict[str, float]], dict[Key, int]]:
    """The same figures without labels (`fraud_core.evaluation.estimate_without_labels`) from
    calibrated fraud probabilities, for the decision rule `score >= threshold`."""
    from fraud_core.evaluation import estimate_without_labels

    p = np.asarray(probabilities, dtype=np.float64)
    blocked = (frame["score"] >= frame["threshold"]).to_numpy()
    amount = frame["amount_usd"].to_numpy(np.float64)
    figures: dict[Key, dict[str, float]] = {}
    support: dict[Key, int] = {}
    values = segment_values(frame)
    for version, variant, in_group in _groups(frame):
        for segment, mask in segment_masks(values, in_group).items():
            rows = np.flatnonzero(mask)
            if len(rows) < min_rows:
                continue
            figures[(version, variant, segment)] = _figures(
                estimate_without_labels(p[rows], blocked[rows], amount[rows], costs=costs)
            )
            support[(version, variant, segment)] = len(rows)
    return figures, support
