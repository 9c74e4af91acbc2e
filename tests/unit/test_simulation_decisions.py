"""Logged decisions: threshold, exploration with propensities, and the transparent rule."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_core.features import FEATURE_NAMES
from fraud_core.simulation import decide, rule_scores
from fraud_core.simulation.decisions import RULE_INTERCEPT, RULE_POINTS, approve_all


def test_blocks_at_the_threshold_without_exploration():
    decisions = decide(np.array([0.1, 0.5, 0.9]), 0.5)
    assert decisions.blocked.tolist() == [False, True, True]
    assert decisions.decision.tolist() == ["approve", "block", "block"]
    assert (decisions.propensity == 1.0).all() and not decisions.explored.any()


def test_exploration_approves_a_logged_share_of_would_block_payments():
    rng = np.random.default_rng(0)
    scores, amounts = rng.random(200_000), rng.lognormal(4, 1, 200_000)
    decisions = decide(
        scores, 0.8, amount_usd=amounts, exploration=0.1, max_explore_usd=500, seed=3
    )
    would_block, eligible = scores >= 0.8, (scores >= 0.8) & (amounts <= 500)
    assert not decisions.explored[~eligible].any()
    assert decisions.explored[eligible].mean() == pytest.approx(0.1, abs=0.005)
    assert (decisions.blocked == (would_block & ~decisions.explored)).all()
    assert (decisions.propensity[decisions.explored] == 0.1).all()
    assert decisions.propensity[eligible & ~decisions.explored] == pytest.approx(0.9)
    assert (decisions.propensity[~eligible] == 1.0).all()
    again = decide(scores, 0.8, amount_usd=amounts, exploration=0.1, max_explore_usd=500, seed=3)
    assert (again.explored == decisions.explored).all()


def test_thresholds_may_differ_per_payment():
    decisions = decide(np.array([0.3, 0.3]), np.array([0.2, 0.4]))
    assert decisions.blocked.tolist() == [True, False]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [({"exploration": 1.0}, "exploration"), ({"max_explore_usd": 10.0}, "amount_usd")],
)
def test_bad_exploration_settings_are_refused(kwargs, reason):
    with pytest.raises(ValueError, match=reason):
        decide(np.array([0.9]), 0.5, **kwargs)


def test_the_rule_adds_documented_points():
    features = np.zeros((2, len(FEATURE_NAMES)), dtype=np.float32)
    features[1, FEATURE_NAMES.index("is_new_device")] = 1.0
    scores = rule_scores(features)
    expected = 1 / (1 + np.exp(-(RULE_INTERCEPT + np.array([0.0, RULE_POINTS["is_new_device"]]))))
    assert scores == pytest.approx(expected)
    assert set(RULE_POINTS) <= set(FEATURE_NAMES)


def test_approve_all_blocks_nothing():
    decisions = approve_all(3)
    assert not decisions.blocked.any() and decisions.decision.tolist() == ["approve"] * 3
