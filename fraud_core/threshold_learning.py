"""Learning contextual thresholds (`policy_arms`) from matured, labelled predictions.

Method, per segment (`features.threshold_segment`: amount band x tenure):
- Arms are candidate thresholds (`DEFAULT_GRID`, 0.05 .. 0.95). The logged score of every
  labelled prediction is known, so every arm's decision (`score >= threshold`) on every row is
  evaluated counterfactually, not only the logged one.
- Rows are the approved predictions with a known outcome, each weighted by its
  inverse-propensity weight (`evaluation.ipw_weights`: explored approvals stand for the blocked
  payments they were drawn from). A row's *stake* is what choosing wrongly costs on it
  (`Costs.false_block` for legit, `Costs.missed_fraud` for fraud). Evidence per row is
  weight x stake, normalized so that a segment's evidence sums to its number of labelled rows.
- Each arm has a Beta posterior on "its decision is the lower-cost one": alpha gains the
  evidence of rows it decides right, beta of those it decides wrong, so the posterior mean
  ranks arms by IPW-estimated expected cost. The prior is the previous policy version's arm,
  decayed towards Beta(1, 1) (`decay`), so old evidence fades.
- Guardrails: arms whose IPW-estimated FPR exceeds `max_fpr` (the case study's 12% line) are
  not written, unless none is under it (then the arms with the lowest FPR are). Among those,
  arms catching less than `min_recall` of the segment's fraud are dropped too, unless none
  catches that much (then the highest-recall ones stay): cheap fraud such as card testing is
  a probe for larger fraud, so a segment is never left unguarded because each single loss is
  small. Segments with
  fewer than `min_rows` labelled rows or `min_fraud` fraud rows get no arms: they keep 0.5.
- The served threshold is the best posterior mean among the written arms
  (`ThresholdPolicy.from_arms`, what the scorer applies). Thompson sampling (seeded draws from
  every written arm's posterior) gives each arm's probability of being the best one: the
  confidence reported with the choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_core.evaluation import Costs, ipw_weights
from fraud_core.policy import DEFAULT_THRESHOLD, ThresholdPolicy, arm_field

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))
"""Candidate thresholds of every segment: 0.05, 0.10, ..., 0.95."""
MAX_FPR = 0.12
"""The case study's line: no segment's threshold may block more legit payments than this."""
LEARNED = "learned"
TOO_LITTLE_DATA = "too little data (default kept)"
GUARDRAIL_FALLBACK = "no arm under the FPR line (lowest FPR kept)"
RECALL_FALLBACK = "no arm reaches the recall floor (highest recall kept)"


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
    """One arm of one segment after the update, with its IPW figures on the window."""

    segment: str
    threshold: float
    alpha: float
    beta: float
    pulls: int
    reward: float
    fpr: float
    recall: float
    expected_cost_usd: float
    eligible: bool
    p_best: float = 0.0

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


def labeled_frame(predictions: pd.DataFrame, states: np.ndarray) -> pd.DataFrame:
    """The rows the learner uses: segment, score, amount_usd, is_fraud, weight (IPW > 0)."""
    import pandas as pd

    weights = ipw_weights(predictions, states)
    used = weights > 0
    return pd.DataFrame(
        {
            "segment": predictions["segment"].to_numpy()[used].astype(str),
            "score": predictions["score"].to_numpy(np.float64)[used],
            "amount_usd": predictions["amount_usd"].to_numpy(np.float64)[used],
            "is_fraud": np.asarray(states, dtype=object)[used] == "fraud",
            "weight": weights[used],
        }
    )


def _ratio(numerator: np.ndarray, denominator: float) -> np.ndarray:
    if denominator <= 0:
        return np.full(np.shape(numerator), np.nan)
    return np.asarray(numerator, dtype=np.float64) / denominator


def arm_figures(
    score: np.ndarray,
    is_fraud: np.ndarray,
    amount_usd: np.ndarray,
    weight: np.ndarray,
    thresholds: np.ndarray,
    costs: Costs,
) -> dict[str, np.ndarray]:
    """IPW-estimated FPR, recall, expected cost (USD) and cost-weighted right/wrong evidence of
    each threshold on the rows (arrays indexed by threshold)."""
    block = score[None, :] >= np.asarray(thresholds, dtype=np.float64)[:, None]
    legit = ~is_fraud
    stake = np.where(is_fraud, costs.missed_fraud(amount_usd), costs.false_block(amount_usd))
    wrong = block != is_fraud[None, :]
    evidence = weight * stake
    scale = len(score) / evidence.sum() if evidence.sum() > 0 else 0.0
    return {
        "fpr": _ratio((block & legit) @ weight, float(weight[legit].sum())),
        "recall": _ratio((block & is_fraud) @ weight, float(weight[is_fraud].sum())),
        "cost": wrong @ evidence,
        "wrong": scale * (wrong @ evidence),
        "right": scale * (~wrong @ evidence),
    }


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
    rng = np.random.default_rng(config.seed)
    grid = np.asarray(sorted(config.grid), dtype=np.float64)
    segments: dict[str, SegmentResult] = {}
    for segment in sorted(set(labeled["segment"])):
        rows = labeled[labeled["segment"] == segment]
        score = rows["score"].to_numpy(np.float64)
        is_fraud = rows["is_fraud"].to_numpy(bool)
        amount = rows["amount_usd"].to_numpy(np.float64)
        weight = rows["weight"].to_numpy(np.float64)
        figures = arm_figures(score, is_fraud, amount, weight, grid, costs)
        static = arm_figures(score, is_fraud, amount, weight, np.array([DEFAULT_THRESHOLD]), costs)
        old = old_policy.threshold(segment)
        base = {
            "segment": segment,
            "labeled_rows": len(rows),
            "fraud_rows": int(is_fraud.sum()),
            "old_threshold": old,
            "static_fpr": float(static["fpr"][0]),
            "static_recall": float(static["recall"][0]),
            "static_cost_usd": float(static["cost"][0]),
        }
        if len(rows) < config.min_rows or is_fraud.sum() < config.min_fraud:
            segments[segment] = SegmentResult(
                **base,
                status=TOO_LITTLE_DATA,
                new_threshold=DEFAULT_THRESHOLD,
                posterior_mean=None,
                p_best=None,
                fpr=float(static["fpr"][0]),
                recall=float(static["recall"][0]),
                expected_cost_usd=float(static["cost"][0]),
            )
            continue
        alpha = np.empty(len(grid))
        beta = np.empty(len(grid))
        for i, threshold in enumerate(grid):
            a0, b0 = priors.get((segment, round(float(threshold), 6)), (1.0, 1.0))
            alpha[i] = 1.0 + config.decay * (a0 - 1.0) + figures["right"][i]
            beta[i] = 1.0 + config.decay * (b0 - 1.0) + figures["wrong"][i]
        fpr = figures["fpr"]
        eligible = np.nan_to_num(fpr, nan=0.0) <= config.max_fpr
        status = LEARNED
        if not eligible.any():
            eligible = fpr <= np.nanmin(fpr)
            status = GUARDRAIL_FALLBACK
        recall = np.nan_to_num(figures["recall"], nan=0.0)
        catches = eligible & (recall >= config.min_recall)
        if catches.any():
            eligible = catches
        elif status == LEARNED:
            eligible = eligible & (recall >= recall[eligible].max())
            status = RECALL_FALLBACK
        draws = rng.beta(alpha[eligible], beta[eligible], size=(config.samples, eligible.sum()))
        wins = np.bincount(draws.argmax(axis=1), minlength=int(eligible.sum()))
        p_best = np.zeros(len(grid))
        p_best[eligible] = wins / config.samples
        arms = [
            ArmEstimate(
                segment=segment,
                threshold=float(grid[i]),
                alpha=float(alpha[i]),
                beta=float(beta[i]),
                pulls=len(rows),
                reward=float(figures["right"][i]),
                fpr=float(fpr[i]),
                recall=float(figures["recall"][i]),
                expected_cost_usd=float(figures["cost"][i]),
                eligible=bool(eligible[i]),
                p_best=float(p_best[i]),
            )
            for i in range(len(grid))
        ]
        chosen_threshold = ThresholdPolicy.from_arms(
            version,
            [{**a.row(), "policy_version": version} for a in arms if a.eligible],
        ).threshold(segment)
        chosen = next(a for a in arms if a.threshold == chosen_threshold)
        segments[segment] = SegmentResult(
            **base,
            status=status,
            new_threshold=chosen.threshold,
            posterior_mean=chosen.mean,
            p_best=chosen.p_best,
            fpr=chosen.fpr,
            recall=chosen.recall,
            expected_cost_usd=chosen.expected_cost_usd,
            arms=arms,
        )
    return LearnedPolicy(version=version, segments=segments)


def cost_curves_png(learned: LearnedPolicy, path: Any) -> Any:
    """Expected cost per threshold per learned segment (chosen arm and static 0.5 marked)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    learned_segments = [r for r in learned.segments.values() if r.arms]
    columns = 3
    rows = max(1, -(-len(learned_segments) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, result in zip(axes.flat, learned_segments, strict=False):
        ax.set_visible(True)
        t = [a.threshold for a in result.arms]
        cost = [a.expected_cost_usd for a in result.arms]
        ax.plot(t, cost, color="tab:blue", marker=".", label="expected cost")
        out = [a for a in result.arms if not a.eligible]
        if out:
            ax.scatter(
                [a.threshold for a in out],
                [a.expected_cost_usd for a in out],
                color="tab:red",
                marker="x",
                label=f"FPR > {MAX_FPR:.0%}",
            )
        ax.axvline(DEFAULT_THRESHOLD, color="grey", linestyle=":", label="static 0.5")
        ax.axvline(result.new_threshold, color="tab:green", label=f"chosen {result.new_threshold}")
        ax.set_title(f"{result.segment} ({result.labeled_rows} rows)", fontsize=9)
        ax.set_xlabel("threshold")
        ax.set_ylabel("USD (IPW)")
        ax.legend(fontsize=7)
    if not learned_segments:
        axes.flat[0].set_visible(True)
        axes.flat[0].text(0.5, 0.5, "no segment has enough labelled rows", ha="center")
        axes.flat[0].set_axis_off()
    fig.suptitle(f"Expected cost per threshold, policy {learned.version}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
