"""Logged decisions for a scored stream: threshold, exploration share and propensities.

With no model yet, `rule_scores` is a transparent points rule over the feature pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraud_core.features import FEATURE_NAMES

RULE_VERSION = "rule-v1"
RULE_INTERCEPT = -5.5
RULE_POINTS = {
    "is_new_device": 2.5,
    "is_new_account": 1.5,
    "is_cross_border": 1.5,
    "card_present": -2.0,
    "mcc_gift_cards": 1.0,
    "mcc_electronics": 1.0,
    "mcc_digital_goods": 0.5,
    "amount_usd_log": 0.5,
}
"""`rule_scores` = sigmoid(RULE_INTERCEPT + sum of points x feature value)."""


def rule_scores(features: np.ndarray) -> np.ndarray:
    """Fraud scores from RULE_POINTS, a documented stand-in until a model is trained.

    `features` is `featurize_frame(transactions)`, the matrix a model would score.
    """
    logit = np.full(len(features), RULE_INTERCEPT)
    for name, points in RULE_POINTS.items():
        logit += points * features[:, FEATURE_NAMES.index(name)]
    return 1.0 / (1.0 + np.exp(-logit))


@dataclass(frozen=True)
class Decisions:
    """What the platform did with each payment, as logged with each prediction.

    `propensity` is the probability that the logging policy took the logged decision:
    exploration approves a would-block payment with probability `exploration`, so an explored
    approval has propensity `exploration` and a would-block payment left blocked `1 -
    exploration`; everything else has propensity 1.
    """

    score: np.ndarray
    threshold: np.ndarray
    blocked: np.ndarray
    explored: np.ndarray
    propensity: np.ndarray

    @property
    def decision(self) -> np.ndarray:
        return np.where(self.blocked, "block", "approve")

    @property
    def would_block(self) -> np.ndarray:
        return self.score >= self.threshold


def decide(
    scores: np.ndarray,
    threshold: float | np.ndarray = 0.5,
    *,
    amount_usd: np.ndarray | None = None,
    exploration: float = 0.0,
    max_explore_usd: float | None = None,
    seed: int = 0,
) -> Decisions:
    """Block at `score >= threshold`, but approve a random `exploration` share of would-block
    payments (only those up to `max_explore_usd`, when given) and log the propensities."""
    if not 0.0 <= exploration < 1.0:
        raise ValueError("exploration must be in [0, 1)")
    scores = np.asarray(scores, dtype=np.float64)
    threshold = np.broadcast_to(np.asarray(threshold, dtype=np.float64), scores.shape)
    would_block = scores >= threshold
    eligible = would_block & (exploration > 0)
    if max_explore_usd is not None:
        if amount_usd is None:
            raise ValueError("max_explore_usd needs amount_usd")
        eligible &= np.asarray(amount_usd) <= max_explore_usd
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xE9]))
    explored = eligible & (rng.random(len(scores)) < exploration)
    propensity = np.where(explored, exploration, np.where(eligible, 1.0 - exploration, 1.0))
    return Decisions(
        score=scores,
        threshold=threshold.copy(),
        blocked=would_block & ~explored,
        explored=explored,
        propensity=propensity,
    )


def approve_all(n: int) -> Decisions:
    """Every payment approved (no model, no rule): then every reported fraud is labelled."""
    return Decisions(
        score=np.zeros(n),
        threshold=np.ones(n),
        blocked=np.zeros(n, dtype=bool),
        explored=np.zeros(n, dtype=bool),
        propensity=np.ones(n),
    )
