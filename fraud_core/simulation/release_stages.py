"""Release gates measured by simulation, with their own code (`fraud_core.release_stats` and
`fraud_core.release.shadow_test`): how often a candidate that blocks exactly as often as the
champion is stopped, and how often one that blocks `increase` more is caught.

Canary: a stage of the plan's size, split over `ticks` sensor checks; at every tick the
canary and the champion (the rest of the traffic) have served their share, blocks are drawn
binomially, and the stage is rolled back if the rule holds at any tick. Shadow: the plan's
shadowed rows, each decided differently by the two models with probability `discordance`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fraud_core import release_stats as stats
from fraud_core.release import ReleasePlan, ShadowFigures, shadow_test


@dataclass(frozen=True)
class StageRuns:
    """Simulated stages: how many, how many were stopped, and at what size."""

    runs: int
    stopped: int
    size: int
    checks: int

    @property
    def rate(self) -> float:
        return self.stopped / self.runs


def gate_rule(plan: ReleasePlan, size: int, grows: bool) -> Callable:
    """The canary gate's rollback rule on arrays of cumulative counts (the code the sensor runs)."""

    def rule(canary_n, canary, champion_n, champion):
        evidence, _ = stats.decline_evidence(canary_n, canary, champion_n, champion, size, grows)
        return stats.decline_harmful(evidence, canary / canary_n, champion / champion_n,
                                     plan.alpha, plan.decline_floor)  # fmt: skip

    return rule


def canary_stages(plan: ReleasePlan, percent: int, base_rate: float, increase: float,
                  runs: int, ticks: int, seed: int = 0, chunk: int = 200,
                  rule: Callable | None = None) -> StageRuns:  # fmt: skip
    """`runs` canary stages at `percent` %, checked `ticks` times each, the canary blocking
    `base_rate * (1 + increase)` and the champion `base_rate`. `rule(canary_n, canary_blocks,
    champion_n, champion_blocks)` -> stop, on (runs, ticks) arrays: the gate's by default
    (a benchmark passes baselines)."""
    rng = np.random.default_rng(seed)
    size = plan.stage_size(percent)
    ratio = (100 - percent) / percent if percent < 100 else 1.0
    grows = percent < 100
    canary_step = np.diff(np.linspace(0, size, ticks + 1).round()).astype(np.int64)
    champion_step = np.diff(np.linspace(0, size * ratio, ticks + 1).round()).astype(np.int64)
    canary_n, champion_total = np.cumsum(canary_step), int(champion_step.sum())
    champion_n = np.cumsum(champion_step) if grows else np.full(ticks, champion_total)
    rule = rule or gate_rule(plan, size, grows)
    stopped = 0
    for start in range(0, runs, chunk):
        n = min(chunk, runs - start)
        canary = rng.binomial(canary_step, base_rate * (1 + increase), (n, ticks)).cumsum(1)
        if grows:
            champion = rng.binomial(champion_step, base_rate, (n, ticks)).cumsum(1)
        else:  # at 100 %: the champion's rows are the release's earlier ones, fixed
            champion = np.repeat(rng.binomial(champion_total, base_rate, (n, 1)), ticks, 1)
        stopped += int(rule(canary_n, canary, champion_n, champion).any(axis=1).sum())
    return StageRuns(runs, stopped, size, ticks)


def shadow_runs(plan: ReleasePlan, base_rate: float, increase: float, discordance: float,
                runs: int, seed: int = 0) -> StageRuns:  # fmt: skip
    """`runs` shadow evaluations over the plan's shadowed rows: the champion blocks
    `base_rate`, the challenger `base_rate * (1 + increase)`, `discordance` of the rows are
    decided differently."""
    rng = np.random.default_rng(seed)
    rows, effect = plan.shadow_rows, base_rate * increase
    shares = [(discordance + effect) / 2, (discordance - effect) / 2]
    counts = rng.multinomial(rows, [*shares, 1 - sum(shares)], size=runs)
    stopped = 0
    for blocked, approved, _ in counts:
        figures = ShadowFigures(
            rows=rows,
            agreement_rate=1 - (blocked + approved) / rows,
            champion_decline_rate=base_rate,
            challenger_decline_rate=base_rate + (blocked - approved) / rows,
            newly_blocked=int(blocked),
            newly_approved=int(approved),
        )
        stopped += shadow_test(figures, plan).harmful
    return StageRuns(runs, stopped, rows, 1)
