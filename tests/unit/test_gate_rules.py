"""`fraud_core.training.judge`: the validation gate's rules on given holdout figures."""

from __future__ import annotations

from fraud_core.training import GatePolicy, HoldoutFigures, judge

CHAMPION = {"f1": 0.43, "precision": 0.43, "recall": 0.43, "fpr": 0.0011, "pr_auc": 0.50,
            "expected_cost_usd": 1342.0, "decline_rate": 0.0019}  # fmt: skip


def figures(**changes: float) -> HoldoutFigures:
    return HoldoutFigures(metrics={**CHAMPION, **changes})


def test_a_floor_the_champion_misses_too_does_not_keep_the_worse_model() -> None:
    """Seen in the replay under drift: a candidate better on every figure was refused for the
    recall floor, which the champion it would replace missed as well on the same holdout."""
    better = figures(f1=0.60, precision=1.0, fpr=0.0, pr_auc=0.56, expected_cost_usd=1266.0)
    decision = judge(better, figures(), GatePolicy())
    assert decision.passed, decision.reasons


def test_floors_still_bind_a_first_model_and_a_candidate_worse_than_a_failing_champion() -> None:
    first = judge(figures(), None, GatePolicy())
    assert not first.passed and "recall 0.4300 misses the floor >= 0.5" in first.reasons
    worse = figures(f1=0.60, recall=0.40, expected_cost_usd=1200.0)
    decision = judge(worse, figures(), GatePolicy())
    assert decision.reasons == ("recall 0.4000 misses the floor >= 0.5",)


def test_a_champion_above_the_floor_keeps_it_binding() -> None:
    champion = figures(recall=0.60, f1=0.50)
    decision = judge(figures(recall=0.45, f1=0.60, expected_cost_usd=1.0), champion, GatePolicy())
    assert decision.reasons == ("recall 0.4500 misses the floor >= 0.5",)
    high_fpr = judge(figures(fpr=0.06, f1=0.6, expected_cost_usd=1.0), champion, GatePolicy())
    assert any("fpr 0.0600 misses the floor <= 0.05" in r for r in high_fpr.reasons)


def _segment(recall: float, fpr: float, cost: float) -> dict:
    return {"dimension": "payment_method", "segment": "card", "rows": 5000, "frauds": 60,
            "recall": recall, "fpr": fpr, "expected_cost_usd": cost}  # fmt: skip


def _with_segment(metrics: dict, segment: dict) -> HoldoutFigures:
    return HoldoutFigures(metrics={**CHAMPION, **metrics}, segments=(segment,))


def test_a_segment_losing_recall_for_far_fewer_false_blocks_is_no_regression() -> None:
    """Seen under the live daemon: the champion blocked 13 % of customers (recall 0.82, FPR
    0.12, the case study's incident); every candidate that fixed it (FPR 0.007, half the cost)
    was refused because each segment's recall fell with the false blocks."""
    overall = {"f1": 0.55, "recall": 0.51, "fpr": 0.007, "expected_cost_usd": 26_000.0}
    champion = _with_segment(
        {"f1": 0.20, "recall": 0.82, "fpr": 0.12, "expected_cost_usd": 54_000.0},
        _segment(recall=0.90, fpr=0.13, cost=20_000.0),
    )
    cheaper = _with_segment(overall, _segment(recall=0.45, fpr=0.01, cost=9_000.0))
    decision = judge(cheaper, champion, GatePolicy())
    assert decision.passed, decision.reasons
    assert decision.segment_comparison[0]["verdict"] == "ok"

    dearer = _with_segment(overall, _segment(recall=0.45, fpr=0.01, cost=21_000.0))
    refused = judge(dearer, champion, GatePolicy())
    assert refused.reasons == ("segment payment_method=card regresses: recall -0.4500 at no "
                               "lower cost",)  # fmt: skip


def test_a_segment_blocking_more_customers_regresses_whatever_its_cost() -> None:
    champion = _with_segment({}, _segment(recall=0.5, fpr=0.01, cost=9_000.0))
    candidate = _with_segment(
        {"f1": 0.60, "expected_cost_usd": 1_000.0}, _segment(recall=0.9, fpr=0.05, cost=1_000.0)
    )
    decision = judge(candidate, champion, GatePolicy())
    assert decision.reasons == ("segment payment_method=card regresses: FPR +0.0400",)


def test_a_segment_recall_loss_needs_evidence_in_its_frauds() -> None:
    """Seen in the replay and under the live daemon: candidates refused for a segment's recall
    (-0.20, -0.24) that rested on 4 of 17 frauds, or on one explored fraud weighing 20. With
    the frauds each model alone catches (`fraud_flips`), a loss binds only when a one-sided
    exact sign test shows it at `segment_recall_alpha`."""
    overall = {"f1": 0.60, "expected_cost_usd": 1_000.0}
    champion = _with_segment({}, _segment(recall=0.60, fpr=0.01, cost=9_000.0))
    candidate = _with_segment(overall, _segment(recall=0.40, fpr=0.01, cost=9_500.0))
    assert not judge(candidate, champion, GatePolicy()).passed  # without flips: as before
    noise = judge(candidate, champion, GatePolicy(), {"payment_method=card": (4, 0)})
    assert noise.passed, noise.reasons  # p = 1/16
    assert noise.segment_comparison[0]["frauds_lost"] == 4
    shown = judge(candidate, champion, GatePolicy(), {"payment_method=card": (9, 1)})
    assert shown.reasons == (
        "segment payment_method=card regresses: recall -0.2000 at no lower cost "
        "(9 frauds lost, 1 gained, p=0.011)",
    )


def test_fraud_flips_counts_the_frauds_each_model_alone_catches() -> None:
    import numpy as np
    import pandas as pd

    from fraud_core.training import fraud_flips

    holdout = pd.DataFrame(
        {
            "label": ["fraud", "fraud", "fraud", "legit", "fraud"],
            "payment_method": ["card", "card", "card", "card", "digital_wallet"],
            "customer_country": ["US"] * 5,
            "amount_usd": [20.0, 20.0, 20.0, 20.0, 900.0],
        }
    )
    candidate = np.array([0.1, 0.9, 0.9, 0.9, 0.9])
    champion = np.array([0.9, 0.1, 0.9, 0.1, 0.1])
    flips = fraud_flips(holdout, candidate, champion, 0.5)
    assert flips["payment_method=card"] == (1, 1)  # the legit row never counts
    assert flips["payment_method=digital_wallet"] == (0, 1)
    assert sum(flips[k][0] for k in flips if k.startswith("amount_band=")) == 1
