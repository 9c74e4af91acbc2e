"""Learning contextual thresholds: on a simulated drifted world, and on small exact cases."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from fraud_core.evaluation import Costs, label_states
from fraud_core.policy import ROOT, STATIC_VERSION, ancestry, top_level
from fraud_core.reports.thresholds import contribution_figure, cost_curves_figure
from fraud_core.threshold_learning import (
    DEFAULT_GRID,
    EXCLUDED_FPR,
    EXCLUDED_RECALL,
    GUARDRAIL_FALLBACK,
    LEARNED,
    MAX_FPR,
    RECALL_FALLBACK,
    TOO_LITTLE_DATA,
    LearningConfig,
    arm_figures,
    labeled_frame,
    learn_thresholds,
    policy_contribution,
    segment_paths,
)

HARMED = "medium|new"
"""The top-level segment where the drifted world's static 0.5 blocks about a quarter of legit
payments."""


@pytest.fixture(scope="module")
def world() -> dict:
    """Last 60 days of a drifted world scored by the points rule at a static 0.5 with 10%
    logged exploration; labels (disputes, chargebacks) as of 125 days later. Half of the
    payments (at random) are the learner's, the other half are held out with the truth."""
    from fraud_core.features import featurize_frame
    from fraud_core.simulation import (
        WorldConfig,
        amount_usd,
        decide,
        generate_labels,
        rule_scores,
        simulate_world,
    )

    simulated = simulate_world(
        WorldConfig(start=date(2025, 1, 1), tx_per_day=2000, fraud_rate=0.01), seed=3
    )
    tx = simulated.transactions
    event_time = pd.to_datetime(tx["event_time"], utc=True)
    recent = (event_time >= event_time.max() - pd.Timedelta(days=60)).to_numpy()
    tx = tx[recent].reset_index(drop=True)
    is_fraud = simulated.oracle["is_fraud"].to_numpy()[recent]
    usd = amount_usd(tx)
    scores = rule_scores(featurize_frame(tx))
    decisions = decide(scores, 0.5, exploration=0.1, seed=3)
    as_of = event_time.max() + pd.Timedelta(days=125)
    labels = generate_labels(tx, is_fraud, decisions.blocked, as_of=as_of.to_pydatetime(), seed=3)
    log = pd.DataFrame(
        {
            "transaction_id": tx["transaction_id"].to_numpy(),
            "event_time": event_time[recent].to_numpy(),
            "decision": decisions.decision,
            "score": scores,
            "amount_usd": usd,
            "account_age_days": tx["account_age_days"].to_numpy(),
            "payment_method": tx["payment_method"].astype(str).to_numpy(),
            "propensity": decisions.propensity,
        }
    )
    log["segment"] = segment_paths(log)
    learner = np.random.default_rng(1).random(len(log)) < 0.5
    states = label_states(log[learner], labels, as_of=as_of)
    return {
        "labeled": labeled_frame(log[learner], states),
        "held_out": log[~learner].assign(is_fraud=is_fraud[~learner]),
    }


def true_figures(frame: pd.DataFrame, thresholds: np.ndarray) -> dict[str, float]:
    """FPR, recall and cost (USD) against the hidden truth, every payment counted."""
    costs = Costs()
    block = frame["score"].to_numpy() >= thresholds
    fraud = frame["is_fraud"].to_numpy()
    usd = frame["amount_usd"].to_numpy()
    return {
        "fpr": (block & ~fraud).sum() / (~fraud).sum(),
        "recall": (block & fraud).sum() / fraud.sum(),
        "cost": float(
            (block & ~fraud) @ costs.false_block(usd) + (~block & fraud) @ costs.missed_fraud(usd)
        ),
    }


def test_learned_policy_blocks_fewer_legit_customers_at_lower_cost(world) -> None:
    learned = learn_thresholds(world["labeled"], version="ts-test")
    policy = learned.policy()
    held_out = world["held_out"]
    served = held_out["segment"].map(policy.threshold).to_numpy()

    harmed = held_out["segment"].map(top_level).to_numpy() == HARMED
    static = true_figures(held_out[harmed], np.full(harmed.sum(), 0.5))
    new = true_figures(held_out[harmed], served[harmed])
    assert static["fpr"] > MAX_FPR  # the incident, in this segment
    assert learned.segments[HARMED].status == LEARNED
    assert policy.threshold(HARMED) > 0.5
    assert new["fpr"] < MAX_FPR and new["fpr"] < static["fpr"] / 3
    assert new["cost"] < static["cost"]

    overall_static = true_figures(held_out, np.full(len(held_out), 0.5))
    overall_new = true_figures(held_out, served)
    assert overall_new["cost"] < overall_static["cost"]
    # the recall floor now holds in every learned payment-method segment too (card payments in
    # medium|established were under it at the old segments' threshold): more fraud is caught
    assert overall_new["recall"] > overall_static["recall"]

    for result in learned.segments.values():
        assert policy.threshold(result.segment) == result.new_threshold
        if result.status == LEARNED:
            assert result.fpr <= MAX_FPR and result.recall >= 0.5  # IPW, at the chosen arm
            assert result.served_by == result.segment
        elif result.status == TOO_LITTLE_DATA:
            assert result.segment not in policy.thresholds
            assert result.served_by in ancestry(result.segment)[1:]
            assert result.new_threshold == policy.thresholds[result.served_by]


def test_estimates_rest_on_ipw_weights() -> None:
    # two legit rows: one approved (weight 1) and one explored would-block (weight 10)
    figures = arm_figures(
        score=np.array([0.2, 0.6, 0.7]),
        is_fraud=np.array([False, False, True]),
        amount_usd=np.array([100.0, 100.0, 100.0]),
        weight=np.array([1.0, 10.0, 1.0]),
        thresholds=np.array([0.1, 0.5, 0.65, 0.9]),
        costs=Costs(margin_rate=0.0, churn_cost=10.0, fraud_loss_rate=1.0),
    )
    np.testing.assert_allclose(figures["fpr"], [1.0, 10 / 11, 0.0, 0.0])
    np.testing.assert_allclose(figures["recall"], [1.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(figures["cost"], [110.0, 100.0, 0.0, 100.0])
    # evidence sums to the number of rows for every arm
    np.testing.assert_allclose(figures["right"] + figures["wrong"], 3.0)


def _rows(n_legit: int, n_fraud: int, legit_score: float, fraud_score: float, segment: str):
    return pd.DataFrame(
        {
            "segment": segment,
            "score": [legit_score] * n_legit + [fraud_score] * n_fraud,
            "amount_usd": [20.0] * n_legit + [5000.0] * n_fraud,
            "is_fraud": [False] * n_legit + [True] * n_fraud,
            "weight": 1.0,
        }
    )


def test_guardrail_keeps_fpr_under_the_line_unless_nothing_is() -> None:
    # blocking everything over 0.25 is cheapest (frauds are $5,000) but blocks 30% of legit
    costly = pd.concat(
        [
            _rows(700, 0, 0.1, 0.0, "a"),
            _rows(300, 0, 0.3, 0.0, "a"),
            _rows(0, 40, 0.0, 0.3, "a"),
            _rows(0, 40, 0.0, 0.9, "a"),
            # every arm blocks all legit here: fallback to the lowest FPR
            _rows(500, 20, 0.9995, 0.9998, "b"),
        ],
        ignore_index=True,
    )
    learned = learn_thresholds(costly, version="g")
    a, b = learned.segments["a"], learned.segments["b"]
    assert a.status == LEARNED and a.new_threshold > 0.3 and a.fpr == 0.0
    unguarded = learn_thresholds(costly, version="g", config=LearningConfig(max_fpr=1.0))
    assert unguarded.segments["a"].new_threshold <= 0.3  # what the guardrail prevented
    assert unguarded.segments["a"].fpr == pytest.approx(0.3)
    assert b.status == GUARDRAIL_FALLBACK and b.fpr == 1.0
    assert {arm.eligible for arm in b.arms} == {True}  # all tie at FPR 1: all kept
    assert {r["segment"] for r in learned.arms} == {"a", "b", ROOT}
    assert all(r["threshold"] > 0.3 for r in learned.arms if r["segment"] == "a")
    assert {a.excluded for a in a.arms if a.threshold <= 0.3} == {EXCLUDED_FPR}


def test_recall_floor_keeps_cheap_fraud_guarded() -> None:
    # $3 frauds cost less than blocking the $20 legit payments that score like them: cost
    # alone would approve everything; the floor keeps half of the fraud blocked at least
    cheap = pd.concat(
        [
            _rows(900, 0, 0.1, 0.0, "c"),
            _rows(60, 0, 0.6, 0.0, "c"),
            _rows(0, 40, 0.0, 0.6, "c"),
        ],
        ignore_index=True,
    ).assign(amount_usd=lambda f: np.where(f["is_fraud"], 3.0, 20.0))
    by_cost = learn_thresholds(cheap, version="r", config=LearningConfig(min_recall=0.0))
    assert by_cost.segments["c"].recall == 0.0  # what the floor prevents
    floored = learn_thresholds(cheap, version="r").segments["c"]
    assert floored.status == LEARNED and floored.recall >= 0.5
    assert floored.new_threshold <= 0.6 and floored.fpr <= MAX_FPR
    # no arm under the FPR line reaches the floor: the highest-recall arms stay
    hidden = pd.concat(
        [_rows(900, 0, 0.1, 0.0, "h"), _rows(200, 0, 0.6, 0.0, "h"), _rows(0, 40, 0.0, 0.6, "h")],
        ignore_index=True,
    )
    result = learn_thresholds(hidden, version="r").segments["h"]
    assert result.status == RECALL_FALLBACK and result.fpr <= MAX_FPR
    assert result.recall == max(a.recall for a in result.arms if a.fpr <= MAX_FPR)
    reasons = {a.threshold: a.excluded for a in floored.arms}
    assert reasons[0.65] == EXCLUDED_RECALL and reasons[0.6] is None


def test_too_little_data_anywhere_keeps_the_default() -> None:
    few = _rows(100, 20, 0.2, 0.8, "tiny")
    learned = learn_thresholds(few, version="t", config=LearningConfig(min_rows=300))
    assert learned.segments["tiny"].status == TOO_LITTLE_DATA
    assert learned.segments[ROOT].status == TOO_LITTLE_DATA
    assert learned.arms == [] and learned.policy().threshold("tiny") == 0.5
    assert learned.segments["tiny"].served_by == STATIC_VERSION
    no_fraud = learn_thresholds(_rows(1000, 2, 0.2, 0.8, "x"), version="t")
    assert no_fraud.segments["x"].status == TOO_LITTLE_DATA


def test_previous_arms_are_a_decayed_prior() -> None:
    rows = _rows(900, 30, 0.02, 0.8, "s")
    every_arm = LearningConfig(min_recall=0.0)
    first = learn_thresholds(rows, version="v1", config=every_arm)
    assert len(first.arms) == 2 * len(DEFAULT_GRID)  # "s" and the root
    previous = [{**arm, "policy_version": "v1"} for arm in first.arms]
    for decay in (0.0, 0.5, 1.0):
        config = LearningConfig(decay=decay, min_recall=0.0)
        second = learn_thresholds(rows, version="v2", previous=previous, config=config)
        for old, new in zip(first.arms, second.arms, strict=True):
            assert new["threshold"] == old["threshold"]
            assert new["alpha"] - 1 == pytest.approx((1 + decay) * (old["alpha"] - 1))
            assert new["beta"] - 1 == pytest.approx((1 + decay) * (old["beta"] - 1))
    # old threshold reported from the previous version's greedy choice
    assert second.segments["s"].old_threshold == first.policy().threshold("s")


def test_thompson_draws_are_seeded(world) -> None:
    labeled = world["labeled"]
    one = learn_thresholds(labeled, version="a", config=LearningConfig(seed=7))
    same = learn_thresholds(labeled, version="a", config=LearningConfig(seed=7))
    other = learn_thresholds(labeled, version="a", config=LearningConfig(seed=8))
    p = {s: [a.p_best for a in r.arms] for s, r in one.segments.items()}
    assert p == {s: [a.p_best for a in r.arms] for s, r in same.segments.items()}
    assert p != {s: [a.p_best for a in r.arms] for s, r in other.segments.items()}
    for result in one.segments.values():
        if result.arms:
            assert sum(a.p_best for a in result.arms) == pytest.approx(1.0)


def _payments(method: str, n_legit: int, n_fraud: int, legit: float, fraud: float):
    """Medium payments of new accounts paid with `method`: legit ones $60, frauds $450."""
    return pd.DataFrame(
        {
            "score": [legit] * n_legit + [fraud] * n_fraud,
            "amount_usd": [60.0] * n_legit + [450.0] * n_fraud,
            "account_age_days": 30,
            "payment_method": method,
            "is_fraud": [False] * n_legit + [True] * n_fraud,
            "weight": 1.0,
        }
    )


def test_wallet_drift_gets_its_own_threshold() -> None:
    # legit wallet payments drifted to 0.7, above the card frauds (0.6): one threshold for
    # medium|new blocks them all (10% of the segment's legit, under the line); the wallet
    # segment of the payment-method level learns to approve them and still block wallet fraud
    rows = pd.concat(
        [_payments("card", 9000, 60, 0.1, 0.6), _payments("digital_wallet", 1000, 20, 0.7, 0.95)],
        ignore_index=True,
    )
    rows["segment"] = segment_paths(rows)
    wallet = rows["payment_method"].to_numpy() == "digital_wallet"
    assert set(rows["segment"]) == {"medium|new/card", "medium|new/digital_wallet"}

    old = learn_thresholds(rows.assign(segment="medium|new"), version="old").policy()
    assert old.threshold("medium|new") <= 0.6  # wallet legit all blocked
    policy = learn_thresholds(rows, version="new").policy()
    assert 0.7 < policy.threshold("medium|new/digital_wallet") <= 0.95
    assert policy.threshold("medium|new/card") <= 0.6
    served = rows["segment"].map(policy.threshold).to_numpy()
    blocked = rows["score"].to_numpy() >= served
    fraud = rows["is_fraud"].to_numpy()
    assert not (blocked & wallet & ~fraud).any() and blocked[fraud].all()
    # what the lead's report reads: the contribution per top-level segment, same rows
    labeled = rows.assign(segment=rows["segment"])
    (overall, medium_new) = policy_contribution(labeled, policy)
    assert (overall["segment"], medium_new["segment"]) == (ROOT, "medium|new")
    assert medium_new["static_fpr"] == pytest.approx(1000 / 10000)
    assert medium_new["policy_fpr"] == 0.0 and medium_new["policy_recall"] == 1.0
    assert medium_new["static_recall"] == 1.0
    assert medium_new["policy_cost_usd"] == 0.0
    assert medium_new["cost_change_usd"] == pytest.approx(-1000 * (0.03 * 60 + 15))
    assert overall["policy_cost_usd"] == medium_new["policy_cost_usd"]


def test_small_segment_inherits_its_parents_threshold() -> None:
    # medium|new learns 0.8 from card payments; 20 bnpl payments are too few for arms of their
    # own, and bank transfers were never seen: both get medium|new's threshold, not 0.5
    rows = pd.concat(
        [_payments("card", 2000, 40, 0.75, 0.85), _payments("bnpl", 18, 2, 0.75, 0.85)],
        ignore_index=True,
    )
    rows["segment"] = segment_paths(rows)
    learned = learn_thresholds(rows, version="t")
    policy = learned.policy()
    parent = policy.threshold("medium|new")
    assert learned.segments["medium|new"].status == LEARNED and 0.75 < parent <= 0.85
    tiny = learned.segments["medium|new/bnpl"]
    assert tiny.status == TOO_LITTLE_DATA and tiny.served_by == "medium|new"
    assert tiny.new_threshold == parent and tiny.fpr == 0.0
    assert "medium|new/bnpl" not in policy.thresholds
    assert policy.threshold("medium|new/bnpl") == parent
    assert policy.threshold("medium|new/bank_transfer") == parent
    assert policy.threshold("large|new/card") == policy.threshold(ROOT) != 0.5


def test_segment_paths_of_logged_predictions_match_the_scorer() -> None:
    from fraud_core.features import as_dict, featurize_frame, threshold_segment

    tx = pd.DataFrame(
        {
            "event_time": pd.to_datetime(["2025-03-01T10:00:00Z"] * 4),
            "amount": [49.99, 50.0, 499.0, 1200.0],
            "currency": "USD",
            "account_age_days": [89, 90, 0, 5000],
            "payment_method": ["card", "digital_wallet", "bnpl", "bank_transfer"],
            "wallet_provider": [None, "apple_pay", None, None],
            "card_present": False,
            "merchant_category": "grocery",
            "customer_country": "DE",
            "merchant_country": "DE",
            "channel": "online",
            "device_age_days": None,
        }
    )
    logged = pd.DataFrame(
        {
            "amount_usd": tx["amount"],
            "payment_method": tx["payment_method"],
            "features": [as_dict(x) for x in featurize_frame(tx)],
        }
    )
    expected = [
        threshold_segment(a, d, m)
        for a, d, m in zip(tx["amount"], tx["account_age_days"], tx["payment_method"], strict=True)
    ]
    assert expected == [
        "small|new/card",
        "medium|established/digital_wallet",
        "medium|new/bnpl",
        "large|established/bank_transfer",
    ]
    assert list(segment_paths(logged)) == expected


def test_threshold_chart_names_each_exclusion_reason() -> None:
    cheap = pd.concat(
        [
            _rows(700, 0, 0.1, 0.0, "c"),
            _rows(100, 0, 0.3, 0.0, "c"),  # blocking at <= 0.3: FPR 12.5%
            _rows(60, 0, 0.6, 0.0, "c"),
            _rows(0, 40, 0.0, 0.6, "c"),  # approving them (> 0.6): recall 0
        ],
        ignore_index=True,
    ).assign(amount_usd=lambda f: np.where(f["is_fraud"], 3.0, 20.0))
    learned = learn_thresholds(cheap, version="chart")
    arms = {a.threshold: a.excluded for a in learned.segments["c"].arms}
    assert arms[0.3] == EXCLUDED_FPR and arms[0.65] == EXCLUDED_RECALL and arms[0.6] is None
    fig = cost_curves_figure(learned)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()][-1] == "c: 900 rows, chosen 0.6"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "excluded: FPR > 12%" in labels and "excluded: recall < 50%" in labels


def test_contribution_chart_names_each_segment_once(world) -> None:
    labeled = world["labeled"]
    rows = policy_contribution(labeled, learn_thresholds(labeled, version="c").policy())
    fig = contribution_figure(rows, "policy c")
    first, *others = fig.axes
    assert [t.get_text() for t in first.get_yticklabels()] == [r["segment"] for r in rows]
    assert all(not any(t.get_visible() for t in ax.get_yticklabels()) for ax in others)
    bars = [p.get_width() for p in first.patches]
    assert bars[: len(rows)] == [r["policy_cost_usd"] for r in rows]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(labels) == ["12% line", "policy", "static 0.5"]


def test_each_node_learns_from_exactly_the_rows_under_it(world) -> None:
    """Rows are matched to nodes by path index: every node's figures rest on the rows whose
    path lies under it (checked against a string match per node), and the contribution per
    top-level segment on the threshold each row's own path is served."""
    labeled = world["labeled"]
    learned = learn_thresholds(labeled, version="n")
    paths = labeled["segment"].to_numpy().astype(str)
    for segment, result in learned.segments.items():
        under = np.array([segment in ancestry(p) for p in paths])
        assert result.labeled_rows == under.sum(), segment
        assert result.fraud_rows == labeled["is_fraud"].to_numpy()[under].sum(), segment
        at = arm_figures(
            labeled["score"].to_numpy()[under],
            labeled["is_fraud"].to_numpy()[under],
            labeled["amount_usd"].to_numpy()[under],
            labeled["weight"].to_numpy()[under],
            np.array([result.new_threshold]),
            Costs(),
        )
        assert result.expected_cost_usd == pytest.approx(float(at["cost"][0]), rel=1e-12)

    policy = learned.policy()
    rows = policy_contribution(labeled, policy)
    served = np.array([policy.threshold(p) for p in paths])
    groups = np.array([top_level(p) for p in paths], dtype=object)
    assert [r["segment"] for r in rows] == [ROOT, *sorted(set(groups.tolist()) - {ROOT})]
    for row in rows:
        mine = np.ones(len(paths), bool) if row["segment"] == ROOT else groups == row["segment"]
        block = labeled["score"].to_numpy()[mine] >= served[mine]
        fraud = labeled["is_fraud"].to_numpy()[mine]
        weight = labeled["weight"].to_numpy()[mine]
        assert row["labeled_rows"] == mine.sum()
        assert row["policy_fpr"] == pytest.approx(
            (block & ~fraud) @ weight / weight[~fraud].sum(), rel=1e-12
        )
