"""Release rules: the stage plan, the two-proportion test, stage health, the shadow verdict."""

from __future__ import annotations

import math

import pytest

from fraud_core.release import (
    ReleasePlan,
    ShadowFigures,
    StageSample,
    evaluate_stage,
    judge_shadow,
    parse_stages,
    two_proportion_test,
)

PLAN = ReleasePlan(stage_min_seconds=60, stage_min_samples=500)


def test_plan_walks_its_stages_and_refuses_bad_ones() -> None:
    assert [PLAN.next_stage(p) for p in (None, 0, 10, 25, 50, 100)] == [10, 10, 25, 50, 100, None]
    assert ReleasePlan(stages=parse_stages("5,100")).next_stage(5) == 100
    for bad in ((10, 50), (50, 25, 100), (0, 100), (10, 10, 100)):
        with pytest.raises(ValueError):
            ReleasePlan(stages=bad)
    with pytest.raises(ValueError, match="comma-separated"):
        parse_stages("10,x")


def test_two_proportion_test_matches_the_normal_approximation() -> None:
    z, p = two_proportion_test(60, 1000, 30, 1000)
    se = math.sqrt(0.06 * 0.94 / 1000 + 0.03 * 0.97 / 1000)
    assert z == pytest.approx(0.03 / se) and p == pytest.approx(0.5 * math.erfc(z / 2**0.5))
    assert p < 0.01
    assert two_proportion_test(30, 1000, 30, 1000)[1] == pytest.approx(0.5)
    _, with_margin = two_proportion_test(35, 1000, 30, 1000, margin=0.01)
    assert with_margin > 0.5  # +0.5 points is within a 1-point margin
    assert two_proportion_test(0, 10, 0, 10) == (0.0, 1.0)
    assert two_proportion_test(10, 10, 0, 10) == (math.inf, 0.0)


def _sample(**overrides) -> StageSample:
    values = dict(canary_n=1000, canary_blocks=30, champion_n=9000, champion_blocks=270,
                  elapsed_seconds=120.0)  # fmt: skip
    return StageSample(**{**values, **overrides})


def test_stage_health_advances_waits_and_rolls_back() -> None:
    assert evaluate_stage(_sample(), PLAN).verdict == "advance"
    waiting = evaluate_stage(_sample(elapsed_seconds=10), PLAN)
    assert waiting.verdict == "wait" and "10 of 60 s" in waiting.summary
    assert evaluate_stage(_sample(canary_n=100, canary_blocks=80), PLAN).verdict == "wait"
    worse = evaluate_stage(_sample(canary_blocks=150), PLAN)
    assert worse.verdict == "rollback" and "canary declines 15.00%" in worse.summary
    assert worse.figures["decline_p_value"] < PLAN.alpha
    early = evaluate_stage(_sample(canary_blocks=150, elapsed_seconds=1), PLAN)
    assert early.verdict == "rollback"  # a bad canary does not wait for the stage to end
    errors = evaluate_stage(_sample(canary_requests=1000, canary_errors=60), PLAN)
    assert errors.verdict == "rollback" and "error rate 6.00%" in errors.summary
    slow = evaluate_stage(_sample(p99_latency_seconds=0.2), PLAN)
    assert slow.verdict == "rollback" and "p99 latency 200.0 ms" in slow.summary
    fpr = evaluate_stage(_sample(fpr=0.2, fpr_labels=500), PLAN)
    assert fpr.verdict == "rollback" and "FPR 20.00% > 15%" in fpr.summary
    assert evaluate_stage(_sample(fpr=0.2, fpr_labels=5), PLAN).verdict == "advance"
    certain = evaluate_stage(_sample(canary_blocks=1000, champion_blocks=0), PLAN)
    assert certain.verdict == "rollback" and certain.figures["decline_z"] is None


def _shadow(**overrides) -> ShadowFigures:
    values = dict(rows=5000, agreement_rate=0.98, champion_decline_rate=0.03,
                  challenger_decline_rate=0.031, champion_fpr_estimate=0.02,
                  challenger_fpr_estimate=0.021)  # fmt: skip
    return ShadowFigures(**{**values, **overrides})


def test_shadow_verdict() -> None:
    assert judge_shadow(_shadow(), PLAN) == (True, ())
    passed, reasons = judge_shadow(_shadow(challenger_decline_rate=0.2), PLAN)
    assert not passed and "challenger declines 20.00%" in reasons[0]
    passed, reasons = judge_shadow(_shadow(challenger_fpr_estimate=0.05), PLAN)
    assert not passed and reasons[0].startswith("estimated FPR 5.00%")
    labelled = _shadow(labelled_rows=400, champion_fpr=0.02, challenger_fpr=0.06)
    passed, reasons = judge_shadow(labelled, PLAN)
    assert not passed and reasons[0].startswith("FPR on labelled shadow rows 6.00%")


def test_scorer_counters_per_stage_and_p99() -> None:
    from fraud_core.release_data import ScorerCounters

    inf = float("inf")
    start = ScorerCounters(100, 1, ((0.001, 90.0), (0.01, 100.0), (inf, 100.0)))
    now = ScorerCounters(300, 3, ((0.001, 150.0), (0.01, 296.0), (inf, 300.0)))
    stage = now.since(start)
    assert (stage.requests, stage.errors) == (200, 2)
    assert stage.buckets == ((0.001, 60.0), (0.01, 196.0), (inf, 200.0))
    assert stage.p99() == 0.01  # 198 of 200 fall in +Inf: the largest finite bound stands in
    assert ScorerCounters(50, 0, ()).since(start) == ScorerCounters(50, 0, ())  # restarted
    assert ScorerCounters().p99() is None
