"""Model performance from production logs, where labels are partial, late and biased.

A prediction's label state as of a moment (`label_states`):
- `fraud` / `legit`: a label event says so (a fraud report outranks a legit one);
- `legit` too: approved, no report, and older than the maturity (chargebacks are over);
- `pending`: approved, no report yet, younger than the maturity;
- `unobservable`: blocked and never reported (a blocked fraud never produces a chargeback).

`estimate(..., weighting="ipw")` measures the decision rule (`score >= threshold`) on the
approved predictions with a known outcome, each weighted by 1 / propensity (`ipw_weights`):
explored approvals of would-block payments stand for all the would-block payments they were
drawn from, which removes the selection bias. `weighting="naive"` joins labels as they are
(badly biased). `estimate_without_labels` needs calibrated scores only: no labels, but it
holds only while P(fraud | payment) has not drifted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd

from fraud_core.maturity import MATURITY_DAYS

LABEL_STATES = ("fraud", "legit", "pending", "unobservable")
Weighting = Literal["ipw", "naive"]


@dataclass(frozen=True)
class Costs:
    """What decision errors cost, in USD."""

    margin_rate: float = 0.03
    """Margin lost on a wrongly blocked payment, as a share of its amount."""
    churn_cost: float = 15.0
    """Expected churn cost of a wrongly blocked payment (churn probability x customer value)."""
    fraud_loss_rate: float = 1.0
    """Share of a missed fraud's amount lost to the chargeback."""

    def false_block(self, amount_usd: np.ndarray) -> np.ndarray:
        return self.margin_rate * amount_usd + self.churn_cost

    def missed_fraud(self, amount_usd: np.ndarray) -> np.ndarray:
        return self.fraud_loss_rate * amount_usd


@dataclass(frozen=True)
class Metrics:
    """Decision-rule performance; rates are NaN when their denominator is empty."""

    fpr: float
    recall: float
    precision: float
    pr_auc: float
    decline_rate: float
    expected_cost_usd: float
    cost_per_1000_usd: float
    false_block_per_1000_usd: float
    """Of `cost_per_1000_usd`, what wrongly blocked payments cost (the rest is missed fraud)."""

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall; 0 when either is 0 or undefined."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total > 0 else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "f1": self.f1}


@dataclass(frozen=True)
class Evaluation:
    """Metrics estimated from logs, with what they rest on."""

    metrics: Metrics
    weighting: str
    states: dict[str, int]
    rows_used: int
    unexplorable_blocked: int
    """Blocked predictions that exploration could never approve: not represented."""


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0 else float("nan")


def average_precision(scores: np.ndarray, is_fraud: np.ndarray, weights: np.ndarray) -> float:
    """Weighted area under the precision-recall curve (step-wise, as scikit-learn's)."""
    order = np.argsort(-scores, kind="stable")
    scores, is_fraud, weights = scores[order], is_fraud[order], weights[order]
    tp = np.cumsum(weights * is_fraud)
    fp = np.cumsum(weights * ~is_fraud)
    if len(tp) == 0 or tp[-1] <= 0:
        return float("nan")
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp, fp = tp[last], fp[last]
    recall_steps = np.diff(np.r_[0.0, tp / tp[-1]])
    return float(np.sum(recall_steps * tp / (tp + fp)))


def metrics(
    scores: np.ndarray,
    threshold: np.ndarray | float,
    is_fraud: np.ndarray,
    amount_usd: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    costs: Costs | None = None,
) -> Metrics:
    """Metrics of `score >= threshold` against known outcomes, each row counting `weights`."""
    costs = costs or Costs()
    scores = np.asarray(scores, dtype=np.float64)
    is_fraud = np.asarray(is_fraud, dtype=bool)
    amount_usd = np.asarray(amount_usd, dtype=np.float64)
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    block = scores >= threshold
    tp, fp = w[block & is_fraud].sum(), w[block & ~is_fraud].sum()
    fn, tn = w[~block & is_fraud].sum(), w[~block & ~is_fraud].sum()
    false_blocks = (w * block * ~is_fraud * costs.false_block(amount_usd)).sum()
    cost = false_blocks + (w * ~block * is_fraud * costs.missed_fraud(amount_usd)).sum()
    return Metrics(
        fpr=_ratio(fp, fp + tn),
        recall=_ratio(tp, tp + fn),
        precision=_ratio(tp, tp + fp),
        pr_auc=average_precision(scores, is_fraud, w),
        decline_rate=_ratio(tp + fp, w.sum()),
        expected_cost_usd=float(cost),
        cost_per_1000_usd=_ratio(1000 * cost, w.sum()),
        false_block_per_1000_usd=_ratio(1000 * false_blocks, w.sum()),
    )


def _utc(moment: datetime | pd.Timestamp | str) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def label_states(
    predictions: pd.DataFrame,
    labels: pd.DataFrame | None = None,
    *,
    as_of: datetime | pd.Timestamp | str,
    maturity_days: float = MATURITY_DAYS,
) -> np.ndarray:
    """State of each prediction (transaction_id, event_time, decision) as of `as_of`.

    `labels` are label events (transaction_id, label, reported_at); those reported after
    `as_of` are ignored and a fraud report outranks a legit one (as in
    `FeedbackStore.training_data`). Without `labels`, `predictions` carries that outcome in a
    `label` column already (None when unreported), as `training_data` returns it.
    """
    as_of = _utc(as_of)
    if labels is None:
        label = predictions["label"].to_numpy(dtype=object)
    else:
        known = labels[pd.to_datetime(labels["reported_at"], utc=True) <= as_of]
        fraud = set(known.loc[known["label"] == "fraud", "transaction_id"])
        legit = set(known.loc[known["label"] == "legit", "transaction_id"])
        ids = predictions["transaction_id"]
        label = np.where(ids.isin(fraud), "fraud", np.where(ids.isin(legit), "legit", None))
    blocked = (predictions["decision"] == "block").to_numpy()
    age = (as_of - pd.to_datetime(predictions["event_time"], utc=True)) / pd.Timedelta(days=1)
    matured = (age >= maturity_days).to_numpy()
    unlabelled = pd.isna(label)
    state = np.where(unlabelled, np.where(matured, "legit", "pending"), label).astype(object)
    state[unlabelled & blocked] = "unobservable"
    return state


def ipw_weights(predictions: pd.DataFrame, states: np.ndarray) -> np.ndarray:
    """Weight of each prediction in `estimate(weighting="ipw")`: 1 / propensity for approved
    predictions with a known outcome, 0 for the others (blocked, pending, unobservable)."""
    states = np.asarray(states, dtype=object)
    used = np.isin(states, ("fraud", "legit")) & (predictions["decision"] != "block").to_numpy()
    propensity = _column(predictions, "propensity", 1.0).astype(np.float64)
    return np.where(used, 1.0 / propensity, 0.0)


def _column(frame: pd.DataFrame, name: str, default: float | bool) -> np.ndarray:
    if name in frame.columns:
        return frame[name].to_numpy()
    return np.full(len(frame), default)


def estimate(
    predictions: pd.DataFrame,
    states: np.ndarray,
    *,
    weighting: Weighting = "ipw",
    costs: Costs | None = None,
) -> Evaluation:
    """Metrics of the logged decision rule from label states.

    `predictions` needs score, threshold, decision, amount_usd; propensity (default 1) and
    explored (default False) come from the prediction log.
    """
    states = np.asarray(states, dtype=object)
    blocked = (predictions["decision"] == "block").to_numpy()
    propensity = _column(predictions, "propensity", 1.0).astype(np.float64)
    if weighting == "ipw":
        all_weights = ipw_weights(predictions, states)
    elif weighting == "naive":
        all_weights = np.isin(states, ("fraud", "legit")).astype(np.float64)
    else:
        raise ValueError(f"unknown weighting {weighting!r}")
    used = all_weights > 0
    weights = all_weights[used]
    result = metrics(
        predictions["score"].to_numpy()[used],
        predictions["threshold"].to_numpy()[used],
        states[used] == "fraud",
        predictions["amount_usd"].to_numpy()[used],
        weights=weights,
        costs=costs,
    )
    explorable = _column(predictions, "explored", False).astype(bool) | (propensity < 1.0)
    return Evaluation(
        metrics=result,
        weighting=weighting,
        states={s: int((states == s).sum()) for s in LABEL_STATES},
        rows_used=int(used.sum()),
        unexplorable_blocked=int((blocked & ~explorable).sum()),
    )


def undo_class_weight(scores: np.ndarray, scale_pos_weight: float) -> np.ndarray:
    """Probabilities from scores of a model trained with `scale_pos_weight` (odds / weight)."""
    scores = np.clip(np.asarray(scores, dtype=np.float64), 1e-12, 1 - 1e-12)
    return scores / (scores + scale_pos_weight * (1.0 - scores))


def estimate_without_labels(
    probabilities: np.ndarray,
    blocked: np.ndarray,
    amount_usd: np.ndarray,
    *,
    costs: Costs | None = None,
) -> Metrics:
    """Expected metrics if `probabilities` are calibrated P(fraud | payment): no labels needed.

    Each payment counts as p fraud and 1 - p legit. Valid while calibration holds; under
    drift that changes P(fraud | x) it is as wrong as the model (compare with `estimate`).
    """
    costs = costs or Costs()
    p = np.asarray(probabilities, dtype=np.float64)
    block = np.asarray(blocked, dtype=bool)
    amount_usd = np.asarray(amount_usd, dtype=np.float64)
    fraud, legit = p.sum(), (1.0 - p).sum()
    tp, fp = p[block].sum(), (1.0 - p[block]).sum()
    false_blocks = ((1.0 - p) * block * costs.false_block(amount_usd)).sum()
    cost = false_blocks + (p * ~block * costs.missed_fraud(amount_usd)).sum()
    order = np.argsort(-p, kind="stable")
    tp_curve = np.cumsum(p[order])
    return Metrics(
        fpr=_ratio(fp, legit),
        recall=_ratio(tp, fraud),
        precision=_ratio(tp, tp + fp),
        pr_auc=_ratio(np.sum(p[order] * tp_curve / np.arange(1, len(p) + 1)), fraud),
        decline_rate=_ratio(block.sum(), len(p)),
        expected_cost_usd=float(cost),
        cost_per_1000_usd=_ratio(1000 * cost, len(p)),
        false_block_per_1000_usd=_ratio(1000 * false_blocks, len(p)),
    )
