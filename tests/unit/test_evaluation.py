"""Evaluation on partial labels, checked against the simulator's hidden truth.

Stated tolerances of the inverse-propensity-weighted estimate (the transparent rule at 0.5,
10% exploration, 120 days x 4,000 payments, matured labels): FPR and decline rate within 15%
of the truth (relative), recall, precision and PR-AUC within 0.06, cost within 15%. Measured
for seed 41: FPR 2.66% vs 2.61%, recall 0.628 vs 0.620, precision 0.098 vs 0.103. The naive
join of labels is far off (recall 0.14, FPR 1.7%, precision 0.017).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from fraud_core.evaluation import (
    LABEL_STATES,
    Costs,
    average_precision,
    estimate,
    estimate_without_labels,
    ipw_weights,
    label_states,
    metrics,
    undo_class_weight,
)
from fraud_core.features import featurize_frame
from fraud_core.simulation import (
    WorldConfig,
    amount_usd,
    decide,
    generate_labels,
    rule_scores,
    simulate_world,
)

FPR_REL, RATE_ABS, COST_REL = 0.15, 0.06, 0.15
CONFIG = WorldConfig(start=date(2025, 1, 1), days=120, tx_per_day=4_000)
MATURED = pd.Timestamp(CONFIG.end, tz="UTC") + pd.Timedelta(days=125)


@pytest.fixture(scope="module")
def scored():
    """Four months of the simulated world, scored by the transparent rule."""
    world = simulate_world(CONFIG, seed=41)
    return world, rule_scores(featurize_frame(world.transactions))


def logged(scored, max_explore_usd: float | None):
    """The prediction log of a 0.5 threshold with 10% exploration, and its matured labels."""
    world, scores = scored
    tx = world.transactions
    usd = amount_usd(tx)
    decisions = decide(
        scores, 0.5, amount_usd=usd, exploration=0.1, max_explore_usd=max_explore_usd, seed=41
    )
    predictions = pd.DataFrame(
        {
            "transaction_id": tx["transaction_id"],
            "event_time": tx["event_time"],
            "amount_usd": usd,
            "score": decisions.score,
            "threshold": decisions.threshold,
            "decision": decisions.decision,
            "explored": decisions.explored,
            "propensity": decisions.propensity,
        }
    )
    labels = generate_labels(tx, world.is_fraud, decisions.blocked, as_of=MATURED, seed=41)
    return world, predictions, labels


@pytest.fixture(scope="module")
def log(scored):
    return logged(scored, max_explore_usd=None)


def truth(world, predictions, rows=slice(None)):
    return metrics(
        predictions["score"].to_numpy()[rows],
        predictions["threshold"].to_numpy()[rows],
        world.is_fraud[rows],
        predictions["amount_usd"].to_numpy()[rows],
    )


def test_weighted_estimate_matches_the_hidden_truth(log):
    world, predictions, labels = log
    true = truth(world, predictions)
    found = estimate(predictions, label_states(predictions, labels, as_of=MATURED)).metrics
    assert found.fpr == pytest.approx(true.fpr, rel=FPR_REL)
    assert found.recall == pytest.approx(true.recall, abs=RATE_ABS)
    assert found.precision == pytest.approx(true.precision, abs=RATE_ABS)
    assert found.pr_auc == pytest.approx(true.pr_auc, abs=RATE_ABS)
    assert found.decline_rate == pytest.approx(true.decline_rate, rel=FPR_REL)
    assert found.cost_per_1000_usd == pytest.approx(true.cost_per_1000_usd, rel=COST_REL)


def test_naive_join_of_labels_is_far_off(log):
    world, predictions, labels = log
    true = truth(world, predictions)
    states = label_states(predictions, labels, as_of=MATURED)
    naive = estimate(predictions, states, weighting="naive").metrics
    assert naive.recall < true.recall / 2  # blocked fraud never gets a label
    assert abs(naive.fpr - true.fpr) > 0.25 * true.fpr  # only some blocked customers complain
    assert naive.precision < true.precision / 2  # disputes, but no blocked fraud, get labels


def test_without_exploration_room_only_the_explorable_part_is_measured(scored):
    world, predictions, labels = logged(scored, max_explore_usd=300.0)
    evaluation = estimate(predictions, label_states(predictions, labels, as_of=MATURED))
    would_block = (predictions["score"] >= predictions["threshold"]).to_numpy()
    unexplorable = would_block & (predictions["amount_usd"] > 300).to_numpy()
    assert evaluation.unexplorable_blocked == unexplorable.sum() > 0
    true = truth(world, predictions, ~unexplorable)
    assert evaluation.metrics.fpr == pytest.approx(true.fpr, rel=FPR_REL)
    assert evaluation.metrics.recall == pytest.approx(true.recall, abs=RATE_ABS)


def test_label_states_as_of_a_moment():
    now = pd.Timestamp("2025-06-01", tz="UTC")
    predictions = pd.DataFrame(
        {
            "transaction_id": ["old-ok", "new-ok", "blocked", "disputed", "charged", "both"],
            "event_time": now - pd.to_timedelta([200, 10, 50, 50, 60, 100], unit="D"),
            "decision": ["approve", "approve", "block", "block", "approve", "approve"],
        }
    )
    labels = pd.DataFrame(
        {
            "transaction_id": ["disputed", "charged", "both", "both", "new-ok"],
            "label": ["legit", "fraud", "legit", "fraud", "fraud"],
            "reported_at": now - pd.to_timedelta([45, 20, 90, 30, -5], unit="D"),
        }
    )
    states = label_states(predictions, labels, as_of=now)
    assert states.tolist() == ["legit", "pending", "unobservable", "legit", "fraud", "fraud"]
    from_store = predictions.assign(label=[None, None, None, "legit", "fraud", "fraud"])
    assert label_states(from_store, as_of=now).tolist() == states.tolist()
    assert set(states) <= set(LABEL_STATES)
    predictions = predictions.assign(propensity=[1, 1, 0.9, 0.9, 0.1, 1.0])
    assert ipw_weights(predictions, states).tolist() == [1.0, 0.0, 0.0, 0.0, 10.0, 1.0]


def test_only_approved_rows_with_a_known_outcome_are_used(log):
    _, predictions, labels = log
    early = pd.Timestamp(CONFIG.end, tz="UTC")
    states = label_states(predictions, labels, as_of=early)
    evaluation = estimate(predictions, states)
    approved = (predictions["decision"] == "approve").to_numpy()
    assert evaluation.states["pending"] > evaluation.states["legit"]  # most are too recent
    assert evaluation.rows_used == (approved & np.isin(states, ("fraud", "legit"))).sum()


def test_costs_are_parameters():
    scores = np.array([0.9, 0.9, 0.1, 0.1])
    is_fraud = np.array([False, True, True, False])
    amount = np.array([100.0, 200.0, 300.0, 400.0])
    cost = metrics(scores, 0.5, is_fraud, amount, costs=Costs(0.1, 5.0, 0.5)).expected_cost_usd
    assert cost == pytest.approx(0.1 * 100 + 5.0 + 0.5 * 300)


def test_average_precision_is_the_weighted_step_area():
    ordered = average_precision(
        np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0], bool), np.ones(4)
    )
    assert ordered == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    tied = average_precision(
        np.array([0.9, 0.9, 0.5]), np.array([1, 0, 1], bool), np.array([1.0, 3.0, 1.0])
    )
    assert tied == pytest.approx(0.5 * 1 / 4 + 0.5 * 2 / 5)  # ties form one step, as scikit-learn


def test_label_free_estimate_from_calibrated_scores():
    rng = np.random.default_rng(3)
    p = rng.beta(0.2, 20, 400_000)
    is_fraud = rng.random(len(p)) < p
    amount = rng.lognormal(4, 1, len(p))
    blocked = p >= 0.05
    found = estimate_without_labels(p, blocked, amount)
    true = metrics(p, 0.05, is_fraud, amount)
    assert found.fpr == pytest.approx(true.fpr, rel=0.05)
    assert found.recall == pytest.approx(true.recall, abs=0.02)
    assert found.precision == pytest.approx(true.precision, abs=0.02)
    assert found.pr_auc == pytest.approx(true.pr_auc, abs=0.03)
    assert found.expected_cost_usd == pytest.approx(true.expected_cost_usd, rel=0.05)


def test_class_weight_is_undone():
    p = np.array([0.001, 0.01, 0.2])
    weighted = 200 * p / (200 * p + 1 - p)  # what a scale_pos_weight=200 model scores
    assert undo_class_weight(weighted, 200) == pytest.approx(p)
