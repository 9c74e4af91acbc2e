"""Learning contextual thresholds (`policy_arms`) from matured, labelled predictions.

Method, per node of the segment hierarchy (`features.threshold_segment`, `policy.ancestry`):
the root `all`, amount band x tenure under it, and payment method under those. A node's rows
are those of every segment path under it (`segment_paths` recomputes each logged row's path
from its amount, account age and payment method, whatever the row's writer stored).
- Arms are candidate thresholds (`DEFAULT_GRID`, 0.05 .. 0.999). The logged score of every
  labelled prediction is known, so every arm's decision (`score >= threshold`) on every row is
  evaluated counterfactually, not only the logged one.
- Rows are the approved predictions with a known outcome, each weighted by its
  inverse-propensity weight (`evaluation.ipw_weights`: explored approvals stand for the blocked
  payments they were drawn from); a reported fraud on a payment whose labels have not matured
  also by 1 / the share of fraud reported by its age (`report_delay`). A row's *stake* is what
  choosing wrongly costs on it (`Costs.false_block` for legit, `Costs.missed_fraud` for
  fraud). Evidence per row is
  weight x stake, normalized so that a node's evidence sums to its number of labelled rows.
- Each arm has a Beta on "its decision is the lower-cost one": alpha gains the evidence of rows
  it decides right, beta of those it decides wrong, so the mean ranks arms by IPW-estimated
  expected cost. Its prior is the previous policy version's arm, decayed towards Beta(1, 1)
  (`decay`), so old evidence fades. These own-evidence Betas are what `policy_arms` stores.
- Guardrails per node: arms whose IPW-estimated FPR exceeds `max_fpr` (the case study's 12%
  line) are excluded, unless none is under it (then the arms with the lowest FPR stay). Among
  those, arms catching less than `min_recall` of the node's fraud are excluded too, unless none
  catches that much (then the highest-recall ones stay): cheap fraud such as card testing is a
  probe for larger fraud. Each excluded arm records its reason. Nodes with fewer than
  `min_rows` labelled rows or `min_fraud` fraud rows get no arms.
- Serving (`ThresholdPolicy.from_arms`, what the scorer applies): a node's posterior borrows
  its parent's as a prior (`policy.posteriors`, shrinkage by evidence); its threshold is the
  best posterior mean among its written arms; a node without arms gets its nearest ancestor's
  threshold. Thompson sampling (seeded draws from those posteriors) gives each arm's
  probability of being the best one: the confidence reported with the choice.

`policy_contribution` measures a policy against the static 0.5 on the same matured rows (IPW
cost, FPR, recall per top-level segment): the asset's metadata, and the replay report's series.
Their plots: `fraud_core/reports/thresholds.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_core.evaluation import Costs, ipw_weights
from fraud_core.features import threshold_segments
from fraud_core.fpr_lines import FPR_WARNING
from fraud_core.policy import (
    DEFAULT_THRESHOLD,
    ROOT,
    STATIC_VERSION,
    ThresholdPolicy,
    ancestry,
    arm_field,
    mean,
    posteriors,
    top_level,
)

if TYPE_CHECKING:
    import pandas as pd

    from fraud_core.model import LoadedModel

DEFAULT_GRID: tuple[float, ...] = (
    *(round(0.05 * i, 2) for i in range(1, 20)),
    *(0.97, 0.98, 0.99, 0.995, 0.998, 0.999),
)
"""Candidate thresholds of every segment: 0.05, 0.10, ..., 0.95, then finer up to 0.999: a
model trained with scale_pos_weight 200 (the case study's recipe) puts a calibrated 0.5 near
0.995, and drifted legit payments (new wallets) crowd the scores above 0.95."""
MAX_FPR = FPR_WARNING
"""The case study's line: no segment's threshold may block more legit payments than this."""
LEARNED = "learned"
TOO_LITTLE_DATA = "too little data (nearest ancestor's threshold)"
GUARDRAIL_FALLBACK = "no arm under the FPR line (lowest FPR kept)"
RECALL_FALLBACK = "no arm reaches the recall floor (highest recall kept)"
EXCLUDED_FPR = "FPR limit"
EXCLUDED_RECALL = "recall floor"


@dataclass(frozen=True)
class LearningConfig:
    grid: tuple[float, ...] = DEFAULT_GRID
    decay: float = 0.5
    """Weight of the previous version's evidence (0: forget it, 1: keep all of it)."""
    max_fpr: float = MAX_FPR
    min_recall: float = 0.5
    """Recall floor per segment (0: cost alone decides)."""
    min_rows: int = 300
    min_fraud: int = 10
    samples: int = 2000
    """Thompson draws per arm for the probability of being the best."""
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.grid or any(not 0.0 < t < 1.0 for t in self.grid):
            raise ValueError("grid thresholds must lie in (0, 1)")
        if not 0.0 <= self.decay <= 1.0:
            raise ValueError("decay must be in [0, 1]")


@dataclass(frozen=True)
class ArmEstimate:
    """One arm of one segment after the update (its own evidence), with its IPW figures."""

    segment: str
    threshold: float
    alpha: float
    beta: float
    pulls: int
    reward: float
    fpr: float
    recall: float
    expected_cost_usd: float
    excluded: str | None = None
    """Why the guardrails left the arm out (`EXCLUDED_FPR`, `EXCLUDED_RECALL`); None: written."""
    p_best: float = 0.0

    @property
    def eligible(self) -> bool:
        return self.excluded is None

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def row(self) -> dict[str, Any]:
        """The `policy_arms` row (without version and timestamp)."""
        return {
            "segment": self.segment,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "beta": self.beta,
            "pulls": self.pulls,
            "reward": self.reward,
        }


@dataclass(frozen=True)
class SegmentResult:
    segment: str
    status: str
    labeled_rows: int
    fraud_rows: int
    old_threshold: float
    new_threshold: float
    served_by: str
    """The segment whose arms chose `new_threshold` (itself or an ancestor; static: none)."""
    posterior_mean: float | None
    p_best: float | None
    fpr: float
    recall: float
    expected_cost_usd: float
    static_fpr: float
    static_recall: float
    static_cost_usd: float
    """IPW-estimated cost of the static 0.5 on the same rows."""
    arms: list[ArmEstimate] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "status": self.status,
            "labeled_rows": self.labeled_rows,
            "fraud_rows": self.fraud_rows,
            "old_threshold": self.old_threshold,
            "new_threshold": self.new_threshold,
            "served_by": self.served_by,
            "posterior_mean": self.posterior_mean,
            "p_best": self.p_best,
            "fpr": self.fpr,
            "recall": self.recall,
            "expected_cost_usd": self.expected_cost_usd,
            "static_0.5_fpr": self.static_fpr,
            "static_0.5_cost_usd": self.static_cost_usd,
            "cost_change_usd": self.expected_cost_usd - self.static_cost_usd,
        }


@dataclass(frozen=True)
class LearnedPolicy:
    version: str
    segments: dict[str, SegmentResult]
    """Every node of the hierarchy with labelled rows, parents before children."""
    config: LearningConfig = field(default_factory=LearningConfig)

    @property
    def arms(self) -> list[dict[str, Any]]:
        """The rows to write to `policy_arms` under `version`."""
        return [
            arm.row() for result in self.segments.values() for arm in result.arms if arm.eligible
        ]

    def policy(self) -> ThresholdPolicy:
        return ThresholdPolicy.from_arms(
            self.version, [{**arm, "policy_version": self.version} for arm in self.arms]
        )


def segment_paths(frame: pd.DataFrame) -> np.ndarray:
    """Each row's segment path (`features.threshold_segment`) from its amount_usd,
    payment_method and account age: the `account_age_days` column, else (logged predictions)
    the `account_age_days_log` feature, log1p of whole days in float32, exact back to days."""
    if "account_age_days" in frame.columns:
        age = frame["account_age_days"].to_numpy(np.float64)
    else:
        logged = (
            frame["account_age_days_log"]  # a lake frame: one column per feature
            if "account_age_days_log" in frame.columns
            else [f["account_age_days_log"] for f in frame["features"]]
        )
        age = np.rint(np.expm1(np.asarray(logged, dtype=np.float64)))
    return threshold_segments(frame["amount_usd"], age, frame["payment_method"])


def rescored(predictions: pd.DataFrame, model: LoadedModel) -> pd.DataFrame:
    """`predictions` (with every feature column, as the lake reads them) with `score` from
    `model`; the logged score, from whichever model served the row, kept as `logged_score`."""
    from fraud_core.features import FEATURE_NAMES
    from fraud_core.store import features_frame

    X = features_frame(predictions, FEATURE_NAMES).to_numpy(np.float32)
    scores = model.predict(X).astype(np.float64) if len(X) else np.zeros(0)
    return predictions.assign(logged_score=predictions["score"], score=scores)


def labeled_frame(
    predictions: pd.DataFrame, states: np.ndarray, fraud_weight: np.ndarray | None = None
) -> pd.DataFrame:
    """The rows the learner uses: segment (path), score, amount_usd, is_fraud, weight (IPW > 0).

    `predictions` are logged predictions (or simulated ones) with decision, propensity, score,
    amount_usd, payment_method and the account age (`segment_paths`). `fraud_weight` (one per
    prediction) multiplies the weight of the reported frauds: `ReportDelay.fraud_weight` of
    their age, for labels not yet matured."""
    import pandas as pd

    weights = ipw_weights(predictions, states)
    used = weights > 0
    is_fraud = np.asarray(states, dtype=object) == "fraud"
    if fraud_weight is not None:
        weights = np.where(is_fraud, weights * fraud_weight, weights)
    return pd.DataFrame(
        {
            "segment": segment_paths(predictions[used]).astype(str),
            "score": predictions["score"].to_numpy(np.float64)[used],
            "amount_usd": predictions["amount_usd"].to_numpy(np.float64)[used],
            "is_fraud": is_fraud[used],
            "weight": weights[used],
        }
    )


def _ratio(numerator: np.ndarray, denominator: float) -> np.ndarray:
    if denominator <= 0:
        return np.full(np.shape(numerator), np.nan)
    return np.asarray(numerator, dtype=np.float64) / denominator


def decision_figures(
    block: np.ndarray,
    is_fraud: np.ndarray,
    amount_usd: np.ndarray,
    weight: np.ndarray,
    costs: Costs,
) -> dict[str, np.ndarray]:
    """IPW-estimated FPR, recall, expected cost (USD) and cost-weighted right/wrong evidence of
    each decision rule on the rows (`block`: one boolean row per rule, one column per row)."""
    legit = ~is_fraud
    stake = np.where(is_fraud, costs.missed_fraud(amount_usd), costs.false_block(amount_usd))
    wrong = block != is_fraud[None, :]
    evidence = weight * stake
    scale = len(is_fraud) / evidence.sum() if evidence.sum() > 0 else 0.0
    return {
        "fpr": _ratio((block & legit) @ weight, float(weight[legit].sum())),
        "recall": _ratio((block & is_fraud) @ weight, float(weight[is_fraud].sum())),
        "cost": wrong @ evidence,
        "wrong": scale * (wrong @ evidence),
        "right": scale * (~wrong @ evidence),
    }


def arm_figures(
    score: np.ndarray,
    is_fraud: np.ndarray,
    amount_usd: np.ndarray,
    weight: np.ndarray,
    thresholds: np.ndarray,
    costs: Costs,
) -> dict[str, np.ndarray]:
    """`decision_figures` of each threshold on the rows (arrays indexed by threshold)."""
    block = score[None, :] >= np.asarray(thresholds, dtype=np.float64)[:, None]
    return decision_figures(block, is_fraud, amount_usd, weight, costs)


def _guardrails(
    fpr: np.ndarray, recall: np.ndarray, config: LearningConfig
) -> tuple[list[str | None], str]:
    """Each arm's exclusion reason (None: kept) and the node's status."""
    over = np.nan_to_num(fpr, nan=0.0) > config.max_fpr
    status = LEARNED
    if over.all():
        over = fpr > np.nanmin(fpr)
        status = GUARDRAIL_FALLBACK
    recall = np.nan_to_num(recall, nan=0.0)
    short = ~over & (recall < config.min_recall)
    if (over | short).all():  # no arm left reaches the floor
        if status == LEARNED:
            short = ~over & (recall < recall[~over].max())
            status = RECALL_FALLBACK
        else:
            short[:] = False
    reasons = np.where(over, EXCLUDED_FPR, np.where(short, EXCLUDED_RECALL, ""))
    return [str(r) or None for r in reasons], status


@dataclass(frozen=True)
class _Node:
    rows: dict[str, np.ndarray]
    arms: list[ArmEstimate]
    status: str


def _fit_node(
    segment: str,
    rows: dict[str, np.ndarray],
    grid: np.ndarray,
    priors: dict[tuple[str, float], tuple[float, float]],
    config: LearningConfig,
    costs: Costs,
) -> _Node:
    """A node's arms (own evidence on a decayed prior) and guardrail verdicts."""
    if len(rows["score"]) < config.min_rows or rows["is_fraud"].sum() < config.min_fraud:
        return _Node(rows, [], TOO_LITTLE_DATA)
    figures = arm_figures(
        rows["score"], rows["is_fraud"], rows["amount_usd"], rows["weight"], grid, costs
    )
    excluded, status = _guardrails(figures["fpr"], figures["recall"], config)
    arms = []
    for i, threshold in enumerate(grid.tolist()):
        a0, b0 = priors.get((segment, round(threshold, 6)), (1.0, 1.0))
        arms.append(
            ArmEstimate(
                segment=segment,
                threshold=threshold,
                alpha=1.0 + config.decay * (a0 - 1.0) + float(figures["right"][i]),
                beta=1.0 + config.decay * (b0 - 1.0) + float(figures["wrong"][i]),
                pulls=len(rows["score"]),
                reward=float(figures["right"][i]),
                fpr=float(figures["fpr"][i]),
                recall=float(figures["recall"][i]),
                expected_cost_usd=float(figures["cost"][i]),
                excluded=excluded[i],
            )
        )
    return _Node(rows, arms, status)


def _thompson(
    arms: list[ArmEstimate],
    posterior: dict[float, tuple[float, float]],
    rng: np.random.Generator,
    config: LearningConfig,
) -> dict[float, float]:
    """Each arm's share of seeded draws from the served posteriors in which it is the best."""
    keys = [round(a.threshold, 6) for a in arms]
    alpha, beta = (np.array([posterior[k][i] for k in keys]) for i in (0, 1))
    draws = rng.beta(alpha, beta, size=(config.samples, len(keys)))
    wins = np.bincount(draws.argmax(axis=1), minlength=len(keys)) / config.samples
    return {k: float(w) for k, w in zip(keys, wins, strict=True)}


def learn_thresholds(
    labeled: pd.DataFrame,
    *,
    version: str,
    previous: Iterable[Any] = (),
    config: LearningConfig | None = None,
    costs: Costs | None = None,
) -> LearnedPolicy:
    """The next policy version from `labeled` rows (`labeled_frame`) and the previous
    version's arms (rows or mappings with segment, threshold, alpha, beta; empty: none)."""
    config = config or LearningConfig()
    costs = costs or Costs()
    previous = list(previous)
    old_policy = ThresholdPolicy.from_arms("previous", previous) if previous else ThresholdPolicy()
    priors = {
        (str(arm_field(a, "segment")), round(float(arm_field(a, "threshold")), 6)): (
            float(arm_field(a, "alpha")),
            float(arm_field(a, "beta")),
        )
        for a in previous
    }
    grid = np.asarray(sorted(config.grid), dtype=np.float64)
    paths = labeled["segment"].to_numpy().astype(str)
    columns = {
        "score": labeled["score"].to_numpy(np.float64),
        "is_fraud": labeled["is_fraud"].to_numpy(bool),
        "amount_usd": labeled["amount_usd"].to_numpy(np.float64),
        "weight": labeled["weight"].to_numpy(np.float64),
    }
    # each row's path as an index into the distinct paths: a node's rows are those whose index
    # is one of its paths (integer comparisons, not string ones over every row per node)
    distinct, path_index = np.unique(paths, return_inverse=True)
    under: dict[str, list[int]] = {}
    for i, path in enumerate(distinct.tolist()):
        for node in ancestry(path):
            under.setdefault(node, []).append(i)
    nodes: dict[str, _Node] = {}
    for segment in sorted(under, key=lambda s: (len(ancestry(s)), s)):
        member = np.zeros(len(distinct), dtype=bool)
        member[under[segment]] = True
        mask = member[path_index]
        rows = {name: values[mask] for name, values in columns.items()}
        nodes[segment] = _fit_node(segment, rows, grid, priors, config, costs)

    written = [
        {**a.row(), "policy_version": version} for n in nodes.values() for a in n.arms if a.eligible
    ]
    policy = ThresholdPolicy.from_arms(version, written)
    served = posteriors(written)
    rng = np.random.default_rng(config.seed)
    segments: dict[str, SegmentResult] = {}
    for segment, node in nodes.items():
        threshold = policy.threshold(segment)
        rows = node.rows
        at = arm_figures(
            rows["score"],
            rows["is_fraud"],
            rows["amount_usd"],
            rows["weight"],
            np.array([threshold, DEFAULT_THRESHOLD]),
            costs,
        )
        arms, posterior_mean, p_best = node.arms, None, None
        if arms:
            share = _thompson([a for a in arms if a.eligible], served[segment], rng, config)
            arms = [replace(a, p_best=share.get(round(a.threshold, 6), 0.0)) for a in arms]
            posterior_mean, p_best = mean(served[segment][threshold]), share[threshold]
        served_by = next((a for a in ancestry(segment) if a in policy.thresholds), STATIC_VERSION)
        segments[segment] = SegmentResult(
            segment=segment,
            status=node.status,
            labeled_rows=len(rows["score"]),
            fraud_rows=int(rows["is_fraud"].sum()),
            old_threshold=old_policy.threshold(segment),
            new_threshold=threshold,
            served_by=served_by,
            posterior_mean=posterior_mean,
            p_best=p_best,
            fpr=float(at["fpr"][0]),
            recall=float(at["recall"][0]),
            expected_cost_usd=float(at["cost"][0]),
            static_fpr=float(at["fpr"][1]),
            static_recall=float(at["recall"][1]),
            static_cost_usd=float(at["cost"][1]),
            arms=arms,
        )
    return LearnedPolicy(version=version, segments=segments, config=config)


CONTRIBUTION_COLUMNS = (
    "segment",
    "labeled_rows",
    "fraud_rows",
    "policy_fpr",
    "static_fpr",
    "policy_recall",
    "static_recall",
    "policy_cost_usd",
    "static_cost_usd",
    "cost_change_usd",
)


def policy_contribution(
    labeled: pd.DataFrame, policy: ThresholdPolicy, costs: Costs | None = None
) -> list[dict[str, Any]]:
    """What `policy` contributes over the static 0.5 on the same matured rows (`labeled_frame`
    of the predictions and their label states): IPW-estimated FPR, recall and cost (USD) of
    both, over all rows (`all`, first) and per top-level segment (amount band x tenure)."""
    costs = costs or Costs()
    paths = labeled["segment"].to_numpy().astype(str)
    distinct, path_index = np.unique(paths, return_inverse=True)  # looked up once per path
    served = np.array([policy.threshold(s) for s in distinct.tolist()], dtype=np.float64)
    threshold = served[path_index]
    score = labeled["score"].to_numpy(np.float64)
    block = np.vstack([score >= threshold, score >= DEFAULT_THRESHOLD])
    is_fraud = labeled["is_fraud"].to_numpy(bool)
    usd = labeled["amount_usd"].to_numpy(np.float64)
    weight = labeled["weight"].to_numpy(np.float64)
    tops = np.array([top_level(s) for s in distinct.tolist()], dtype=object)
    group = tops[path_index]
    out = []
    for name in [ROOT, *sorted(set(tops.tolist()) - {ROOT})]:
        rows = np.ones(len(paths), bool) if name == ROOT else group == name
        f = decision_figures(block[:, rows], is_fraud[rows], usd[rows], weight[rows], costs)
        out.append(
            {
                "segment": name,
                "labeled_rows": int(rows.sum()),
                "fraud_rows": int(is_fraud[rows].sum()),
                "policy_fpr": float(f["fpr"][0]),
                "static_fpr": float(f["fpr"][1]),
                "policy_recall": float(f["recall"][0]),
                "static_recall": float(f["recall"][1]),
                "policy_cost_usd": float(f["cost"][0]),
                "static_cost_usd": float(f["cost"][1]),
                "cost_change_usd": float(f["cost"][0] - f["cost"][1]),
            }
        )
    return out
