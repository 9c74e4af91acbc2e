"""Release gates by simulation, with the gates' own code, at the case study's volume
(50,000 payments a day, a 2 % decline rate, the sensor checking every minute).

For each canary stage of the default plan: its size (computed from +20 %, alpha, power and
the base rate), what that means in days, how often an identical candidate is rolled back
when checked every minute for the whole stage, and how often one blocking 20 % more is
caught. Baselines in the same run, on the same simulated traffic:
- the previous rule: one-sided z-test of "more than +1 point", p < 0.01, re-run every minute
  once the stage has 1,000 canary predictions;
- naive peeking: a fixed-sample one-sided z-test at the plan's alpha, re-run every minute.
Then the shadow's paired test at its planned rows, and the plan's sizes at other base rates.
"""

from __future__ import annotations

import math
import time

import numpy as np

from fraud_core.release import ReleasePlan
from fraud_core.release_stats import z
from fraud_core.simulation.release_stages import canary_stages, shadow_runs

PER_DAY, BASE, RUNS, TICK_SECONDS = 50_000, 0.02, 2_000, 60


def previous_rule(canary_n, canary, champion_n, champion):
    """The rule this replaces: p(canary - champion > 1 point) < 0.01, from 1,000 predictions."""
    p1, p0 = canary / canary_n, champion / champion_n
    se = np.sqrt(p1 * (1 - p1) / canary_n + p0 * (1 - p0) / champion_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = np.where(se > 0, (p1 - p0 - 0.01) / se, 0.0)
    return (zs > z(0.99)) & (canary_n >= 1000)


def peeking(alpha: float):
    def rule(canary_n, canary, champion_n, champion):
        pooled = (canary + champion) / (canary_n + champion_n)
        se = np.sqrt(pooled * (1 - pooled) * (1 / canary_n + 1 / champion_n))
        with np.errstate(divide="ignore", invalid="ignore"):
            zs = np.where(se > 0, (canary / canary_n - champion / champion_n) / se, 0.0)
        return zs > z(1 - alpha)

    return rule


def interval(rate: float, runs: int) -> str:
    half = 1.96 * math.sqrt(max(rate * (1 - rate), 1 / runs) / runs)
    return f"{rate:6.2%} ±{half:.2%}"


def main() -> None:
    plan = ReleasePlan()
    print(
        f"plan: +{plan.decline_increase:.0%} relative "
        f"(floor {plan.decline_floor * 100:.1f} points) "
        f"at a {BASE:.0%} decline rate, alpha {plan.alpha:.1%}, power {plan.power:.0%}; "
        f"{PER_DAY:,} payments/day, a check every {TICK_SECONDS} s, {RUNS:,} stages each"
    )
    print(
        f"{'stage':>6} {'size':>7} {'days':>5} {'checks':>6} | {'identical stopped':>17} "
        f"{'+20% caught':>13} | {'previous rule':>27} | {'peeking z':>27} | s"
    )
    total_days = 0.0
    for index, percent in enumerate(plan.stages):
        size = plan.stage_size(percent)
        days = size / (PER_DAY * percent / 100)
        total_days += days
        ticks = max(1, round(days * 86400 / TICK_SECONDS))
        started = time.perf_counter()
        row = []
        for rule in (None, previous_rule, peeking(plan.alpha)):
            same = canary_stages(plan, percent, BASE, 0.0, RUNS, ticks, 10 * index, rule=rule)
            worse = canary_stages(plan, percent, BASE, 0.2, RUNS, ticks, 10 * index + 1, rule=rule)
            row.append((same.rate, worse.rate))
        took = time.perf_counter() - started
        (gate, old, peek) = row
        print(
            f"{percent:>5}% {size:>7,} {days:>5.1f} {ticks:>6,} | {interval(gate[0], RUNS):>17} "
            f"{interval(gate[1], RUNS):>13} | {old[0]:6.2%} stopped, {old[1]:6.2%} caught | "
            f"{peek[0]:6.2%} stopped, {peek[1]:6.2%} caught | {took:.0f}"
        )
    print(
        f"a release's canary stages take {total_days:.1f} days at this volume "
        f"(after {plan.shadow_min_seconds / 86400:.0f} days of shadow)"
    )

    started = time.perf_counter()
    rows = plan.shadow_rows
    same = shadow_runs(plan, BASE, 0.0, plan.shadow_discordance, RUNS, seed=100)
    worse = shadow_runs(plan, BASE, 0.2, plan.shadow_discordance, RUNS, seed=101)
    print(
        f"shadow: {rows:,} shadowed transactions ({rows / PER_DAY * 24:.1f} hours of traffic) "
        f"at {plan.shadow_discordance:.0%} discordance: identical stopped "
        f"{interval(same.rate, RUNS)}, +20% caught {interval(worse.rate, RUNS)} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    p0, p1, ratio = BASE, BASE * 1.2, 9
    pooled = (p1 + ratio * p0) / (1 + ratio)
    null_sd = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    alt_sd = math.sqrt(p1 * (1 - p1) + p0 * (1 - p0) / ratio)
    fixed = ((z(1 - plan.alpha) * null_sd + z(plan.power) * alt_sd) / (p1 - p0)) ** 2
    print(
        f"baseline size: one fixed-sample test at 10% (valid only if looked at once, z "
        f"{z(1 - plan.alpha):.2f}) needs {fixed:,.0f} canary predictions; the sequential stage "
        f"(z {z(1 - plan.alpha / 2):.2f} at its end) {plan.stage_size(10) / fixed:.2f}x that"
    )
    for base in (0.005, 0.01, 0.05):
        other = ReleasePlan(base_decline_rate=base)
        print(
            f"at a {base:.1%} base rate: stage 10% {other.stage_size(10):,} canary predictions "
            f"({other.stage_size(10) / (PER_DAY * 0.1):.1f} days), shadow "
            f"{other.shadow_rows:,} rows, sized for +{other.design_effect * 100:.2f} points"
        )


if __name__ == "__main__":
    main()
