"""Release rules: the stage plan and its sizes, the canary's sequential decline test, stage
health, the shadow's paired test, and both measured by simulation with their own code."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from fraud_core import release_stats as stats
from fraud_core.release import (
    Declines,
    ReleasePlan,
    ShadowFigures,
    StageSample,
    decline_test,
    evaluate_stage,
    judge_shadow,
    parse_stages,
    shadow_test,
)
from fraud_core.simulation.release_stages import canary_stages, shadow_runs

PLAN = ReleasePlan(stage_min_seconds=60, stage_min_samples=1000)
DEFAULT = ReleasePlan()


def test_plan_walks_its_stages_and_refuses_bad_ones() -> None:
    assert [PLAN.next_stage(p) for p in (None, 0, 10, 25, 50, 100)] == [10, 10, 25, 50, 100, None]
    assert ReleasePlan(stages=parse_stages("5,100")).next_stage(5) == 100
    for bad in ((10, 50), (50, 25, 100), (0, 100), (10, 10, 100)):
        with pytest.raises(ValueError):
            ReleasePlan(stages=bad)
    with pytest.raises(ValueError, match="comma-separated"):
        parse_stages("10,x")
    for bad in (dict(alpha=0.6), dict(power=0.4), dict(decline_increase=0), dict(decline_floor=-1),
                dict(stage_min_samples=0), dict(shadow_discordance=0.001)):  # fmt: skip
        with pytest.raises(ValueError, match="release plan"):
            ReleasePlan(**bad)


def test_default_plan_sizes_stages_for_a_20_percent_increase() -> None:
    """Sizes from the design (+20 % at 2 %, alpha 1 %, power 95 %): larger where the champion
    gives less comparison traffic per canary prediction; the final look alone has the power."""
    sizes = [DEFAULT.stage_size(p) for p in DEFAULT.stages]
    assert sizes == sorted(sizes) and 28_000 < sizes[0] < 30_000 and sizes[-1] < 55_000
    assert DEFAULT.design_effect == pytest.approx(0.004) and DEFAULT.stage_detects(10) == 0.2
    normal, c = NormalDist(), stats.boundary(DEFAULT.alpha)
    n, p0, p1 = sizes[0], 0.02, 0.024
    pooled = (p1 + 9 * p0) / 10
    null_se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / (9 * n)))
    alt_se = math.sqrt(p1 * (1 - p1) / n + p0 * (1 - p0) / (9 * n))
    assert normal.cdf((p1 - p0 - c * null_se) / alt_se) == pytest.approx(0.95, abs=0.001)
    assert 15_000 < DEFAULT.shadow_rows < 25_000  # the paired test needs fewer, seeing all
    assert PLAN.stage_size(10) == 1000 and PLAN.stage_detects(10) > 0.8  # small: weak
    floor_bound = ReleasePlan(base_decline_rate=0.002)  # +20 % of 0.2 % is under the floor
    assert floor_bound.design_effect == 2 * floor_bound.decline_floor


def test_decline_evidence_is_the_z_statistic_scaled_by_the_test_done() -> None:
    evidence, done = stats.decline_evidence(500, 30, 4500, 180, 1000)
    pooled = 210 / 5000
    z = (29.5 / 500 - 180 / 4500) / math.sqrt(pooled * (1 - pooled) * (1 / 500 + 1 / 4500))
    assert done == pytest.approx(0.5) and evidence == pytest.approx(z * math.sqrt(0.5))
    frozen, done = stats.decline_evidence(500, 30, 4500, 180, 1000, champion_grows=False)
    assert done == pytest.approx((1 / 1000 + 1 / 4500) / (1 / 500 + 1 / 4500))
    assert stats.decline_evidence(0, 0, 0, 0, 1000) == (0, 0)


def _sample(**overrides) -> StageSample:
    values = dict(percent=10, canary_n=1000, canary_blocks=20, champion_n=9000,
                  champion_blocks=180, elapsed_seconds=120.0)  # fmt: skip
    return StageSample(**{**values, **overrides})


def test_stage_health_advances_waits_and_rolls_back_in_words() -> None:
    healthy = evaluate_stage(_sample(), PLAN)
    assert healthy.verdict == "advance"
    assert "canary blocks 2.0% vs 2.0%: +0%, no evidence of harm" in healthy.summary
    assert healthy.figures["samples_needed"] == 0 and healthy.figures["stage_size"] == 1000
    waiting = evaluate_stage(_sample(elapsed_seconds=10), PLAN)
    assert waiting.verdict == "wait" and "10 of 60 s" in waiting.summary
    half = evaluate_stage(_sample(canary_n=500, canary_blocks=11, elapsed_seconds=3600), PLAN)
    assert half.verdict == "wait" and "500 of 1,000 canary predictions" in half.summary
    assert "about 60 minutes more at the current canary traffic" in half.summary
    assert half.figures["samples_needed"] == 500 and half.figures["decline_test_done"] == 0.5
    assert half.figures["detectable_increase_now"] > healthy.figures["detectable_increase_now"]
    worse = evaluate_stage(_sample(canary_blocks=45), PLAN)
    assert worse.verdict == "rollback"
    assert worse.reasons[0].startswith("canary blocks 4.5% vs 2.0%: +125%, evidence strong enough")
    early = evaluate_stage(_sample(canary_n=300, canary_blocks=40, elapsed_seconds=1), PLAN)
    assert early.verdict == "rollback"  # a bad canary does not wait for the stage to end
    # the test ends at the stage size: later rows (waiting for the duration) are not re-tested
    frozen = evaluate_stage(_sample(canary_n=3000, canary_blocks=90, elapsed_seconds=10,
                                    tested=Declines(1000, 20, 9000, 180)), PLAN)  # fmt: skip
    assert frozen.verdict == "wait" and frozen.figures["decline_evidence"] == pytest.approx(
        -0.11, abs=0.01
    )
    errors = evaluate_stage(_sample(canary_requests=1000, canary_errors=60), PLAN)
    assert errors.verdict == "rollback" and "error rate 6.00%" in errors.summary
    slow = evaluate_stage(_sample(p99_latency_seconds=0.2), PLAN)
    assert slow.verdict == "rollback" and "p99 latency 200.0 ms" in slow.summary
    fpr = evaluate_stage(_sample(fpr=0.2, fpr_labels=500), PLAN)
    assert fpr.verdict == "rollback" and "FPR 20.00% > 15%" in fpr.summary
    assert evaluate_stage(_sample(fpr=0.2, fpr_labels=5), PLAN).verdict == "advance"


def test_the_floor_keeps_tiny_rates_from_rolling_back() -> None:
    """+100 % relative, but 0.05 point absolute: evidence, yet under the 0.1-point floor."""
    big = ReleasePlan(stage_min_samples=200_000)
    tiny = Declines(200_000, 200, 1_800_000, 900)
    test = decline_test(tiny, big, 10)
    assert test.evidence > test.needed and test.increase == pytest.approx(1.0)
    assert not test.harmful
    assert decline_test(Declines(200_000, 500, 1_800_000, 900), big, 10).harmful


def _shadow(**overrides) -> ShadowFigures:
    values = dict(rows=20_000, agreement_rate=0.98, champion_decline_rate=0.02,
                  challenger_decline_rate=0.0205, newly_blocked=210, newly_approved=200,
                  champion_fpr_estimate=0.02, challenger_fpr_estimate=0.021)  # fmt: skip
    return ShadowFigures(**{**values, **overrides})


def test_shadow_paired_test_and_verdict() -> None:
    assert stats.paired_p_value(14, 6) == pytest.approx(
        sum(math.comb(20, k) for k in range(14, 21)) / 2**20
    )
    assert stats.binomial_tail(3, 10, 0.3) == pytest.approx(
        1 - sum(math.comb(10, k) * 0.3**k * 0.7 ** (10 - k) for k in range(3))
    )
    assert judge_shadow(_shadow(), DEFAULT) == (True, ())
    worse = _shadow(challenger_decline_rate=0.0244, newly_blocked=288, newly_approved=200)
    passed, reasons = judge_shadow(worse, DEFAULT)
    assert not passed and reasons[0].startswith(
        "challenger blocks 2.44% vs champion 2.00% on the same 20,000 transactions: +22%"
    )
    assert "evidence strong enough to stop the release" in reasons[0]
    test = shadow_test(_shadow(), DEFAULT)
    assert "no evidence it blocks more (these rows would catch +21%)" in test.words
    assert test.rows_needed == DEFAULT.shadow_rows - 20_000
    passed, reasons = judge_shadow(_shadow(challenger_fpr_estimate=0.05), DEFAULT)
    assert not passed and reasons[0].startswith("estimated FPR 5.00%")
    labelled = _shadow(labelled_rows=400, champion_fpr=0.02, challenger_fpr=0.06)
    passed, reasons = judge_shadow(labelled, DEFAULT)
    assert not passed and reasons[0].startswith("FPR on labelled shadow rows 6.00%")


def test_gates_measured_by_simulation() -> None:
    """2,000 stages each: an identical canary checked at every one of 1,000 ticks of a stage of
    the default plan is rolled back at most 1 % of the time; +20 % at a 2 % base rate is caught
    at least 95 % of the time; likewise the shadow's test at its planned rows."""
    identical = canary_stages(DEFAULT, 10, 0.02, 0.0, runs=2000, ticks=1000, seed=11)
    worse = canary_stages(DEFAULT, 10, 0.02, 0.2, runs=2000, ticks=1000, seed=12)
    last = canary_stages(DEFAULT, 100, 0.02, 0.0, runs=2000, ticks=300, seed=13)
    same = shadow_runs(DEFAULT, 0.02, 0.0, 0.02, runs=2000, seed=14)
    more = shadow_runs(DEFAULT, 0.02, 0.2, 0.02, runs=2000, seed=15)
    small = canary_stages(ReleasePlan(stage_min_samples=2000), 10, 0.005, 0.0, 2000, 2000, 16)
    print(
        f"canary 10% (size {identical.size:,}): identical stopped {identical.rate:.2%}, +20% "
        f"{worse.rate:.2%}; at 100% identical {last.rate:.2%}; shadow ({same.size:,} rows): "
        f"identical {same.rate:.2%}, +20% {more.rate:.2%}; small stage {small.rate:.2%}"
    )
    assert identical.rate <= 0.01 and last.rate <= 0.01 and same.rate <= 0.01
    assert worse.rate >= 0.95 and more.rate >= 0.95
    assert small.rate <= 0.01  # every prediction checked, a small stage, a rare rate


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


def test_shadow_refuses_no_challenger_for_the_disputes_it_would_approve() -> None:
    """Seen in seed 2's replay: within a shadow window the legitimate labels are disputes of
    payments the champion blocked, so on them the champion's FPR is 100 %; a challenger that
    approved 57 % of them showed 43 % and the 15 % cap rolled it back twice. The labelled
    rows now only compare the two models; the cap binds the label-free estimate."""
    import pandas as pd

    from fraud_core.release_data import shadow_figures

    disputes = pd.DataFrame(
        {
            "decision": "block",
            "explored": False,
            "score": 0.9,
            "shadow_score": [0.9] * 120 + [0.1] * 180,
            "shadow_decision": ["block"] * 120 + ["approve"] * 180,
            "label": "legit",
            "amount_usd": 50.0,
        },
        index=range(300),
    )
    figures = shadow_figures(disputes)
    assert (figures.champion_fpr, figures.challenger_fpr) == (1.0, 0.4)
    assert judge_shadow(
        _shadow(labelled_rows=300, champion_fpr=1.0, challenger_fpr=0.4), DEFAULT
    ) == (True, ())
    passed, reasons = judge_shadow(
        _shadow(challenger_fpr_estimate=0.2, champion_fpr_estimate=0.19), DEFAULT
    )
    assert not passed and reasons == ("estimated FPR 20.00% > 15%",)


def test_the_shadow_fpr_margin_is_a_setting() -> None:
    """The live loop's daemon saw a retrained challenger estimated at 0.84 % refused beside a
    champion at 0.07 % (default margin: 0.5 point); an operator may allow more."""
    from fraud_core.settings import Settings

    low = _shadow(champion_fpr_estimate=0.0007, challenger_fpr_estimate=0.0084)
    assert judge_shadow(low, DEFAULT) == (False, ("estimated FPR 0.84% vs champion 0.07%",))
    wider = Settings(FRAUD_SHADOW_FPR_MARGIN="0.01").release_plan()
    assert wider.shadow_fpr_margin == 0.01 and judge_shadow(low, wider) == (True, ())
    high = _shadow(champion_fpr_estimate=0.10, challenger_fpr_estimate=0.108)
    assert judge_shadow(high, wider) == (True, ())  # a tenth of the champion's when larger
    assert not judge_shadow(
        _shadow(champion_fpr_estimate=0.10, challenger_fpr_estimate=0.112), wider
    )[0]
    with pytest.raises(ValueError, match="FRAUD_SHADOW_FPR_MARGIN"):
        Settings(FRAUD_SHADOW_FPR_MARGIN="0.5").release_plan()
