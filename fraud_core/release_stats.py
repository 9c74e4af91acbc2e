"""The statistics of the release gates: a canary decline test valid under continuous checking,
the shadow's paired test, and the sample sizes that give them their power.

Canary (two independent samples, disjoint customers): the pooled two-proportion z statistic
(with half a canary block of continuity correction: rare blocks are skewed), scaled by the
square root of the information fraction `t` (canary predictions / stage size), is under
"canary blocks as often as the champion" approximately a Brownian motion on [0, 1]. Rolling
back the first time it reaches c = z(1 - alpha/2) then has a false-rollback rate of at most
alpha however often it is checked (reflection principle: P(max B >= c) = 2 (1 - Phi(c))),
the continuous limit of Lan-DeMets' O'Brien-Fleming alpha spending. The bound is tight and
the approximation shows: alpha 1 % measured 1.04 % at 1,000 checks a stage (hence the plan's
0.5 %). The stage's test ends at its size (the caller counts up to there).

Shadow (the same transactions scored by both models): only the discordant pairs carry
information; under "same decline rate" the newly blocked ones are Binomial(pairs, 1/2)
(exact one-sided test, McNemar's without the approximation).

Both tests also require the observed increase to reach the absolute floor, and are sized for
the larger of the relative increase at the expected base rate and twice the floor (so the
floor does not eat the power). Everything takes numpy arrays so simulations use this code.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

_NORMAL = NormalDist()


def z(q: float) -> float:
    """The standard normal quantile of `q`."""
    return _NORMAL.inv_cdf(q)


def boundary(alpha: float) -> float:
    """The evidence a rollback needs, on the z scale of a full stage: z(1 - alpha/2)."""
    return z(1 - alpha / 2)


def design_effect(base_rate: float, increase: float, floor: float) -> float:
    """The absolute increase in decline rate a test is sized to catch."""
    return max(base_rate * increase, 2 * floor)


def decline_evidence(
    canary_n, canary_blocks, champion_n, champion_blocks, size, champion_grows=True
):
    """(evidence, information fraction): z * sqrt(t), arrays of the inputs' shape.

    `size`: canary predictions at which the stage's test ends. `champion_grows`: the champion
    keeps serving during the stage (False at 100 %, when its comparison rows are fixed).
    """
    import numpy as np  # here: the code location imports this module as it loads

    n1, x1 = np.asarray(canary_n, float), np.asarray(canary_blocks, float)
    n0, x0 = np.asarray(champion_n, float), np.asarray(champion_blocks, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x0) / (n1 + n0)
        neff = n1 * n0 / (n1 + n0)
        se = np.sqrt(pooled * (1 - pooled) / neff)
        zs = np.where(se > 0, ((x1 - 0.5) / n1 - x0 / n0) / se, 0.0)
        n0_end = np.where(champion_grows, n0 * size / n1, n0)
        t = np.where(neff > 0, neff * (size + n0_end) / (size * n0_end), 0.0)
    zs = np.nan_to_num(zs)
    return zs * np.sqrt(t), np.nan_to_num(t)


def decline_harmful(evidence, canary_rate, champion_rate, alpha: float, floor: float):
    """The rollback rule: evidence at the boundary and an increase of at least the floor."""
    import numpy as np

    return (np.asarray(evidence) >= boundary(alpha)) & (
        np.asarray(canary_rate) - np.asarray(champion_rate) >= floor
    )


def canary_stage_size(
    base_rate: float, increase: float, floor: float, ratio: float, alpha: float, power: float
) -> int:
    """Canary predictions for a stage to catch the design effect with `power`, at the last
    check alone (earlier checks only add): `ratio` champion predictions per canary one."""
    effect = design_effect(base_rate, increase, floor)
    p0, p1 = base_rate, base_rate + effect
    pooled = (p1 + ratio * p0) / (1 + ratio)
    null_sd = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    alt_sd = math.sqrt(p1 * (1 - p1) + p0 * (1 - p0) / ratio)
    z_power = z(power)
    evidence = ((boundary(alpha) * null_sd + z_power * alt_sd) / effect) ** 2
    over_floor = (z_power * alt_sd / (effect - floor)) ** 2
    return math.ceil(max(evidence, over_floor))


def canary_stage_detects(
    size: int, base_rate: float, floor: float, ratio: float, alpha: float, power: float
) -> float:
    """The relative increase a stage of `size` canary predictions catches with `power` (the
    inverse of `canary_stage_size`, by bisection)."""
    low, high = 1e-4, 100.0
    for _ in range(60):
        mid = (low * high) ** 0.5
        if canary_stage_size(base_rate, mid, floor, ratio, alpha, power) <= size:
            high = mid
        else:
            low = mid
    return high


def canary_detectable(
    canary_n, canary_blocks, champion_n, champion_blocks, t, alpha, power, floor
) -> float | None:
    """The absolute increase the data so far would catch with `power` if the stage ended
    now (information fraction `t`); None before there is anything to go on."""
    pooled = (canary_blocks + champion_blocks) / (canary_n + champion_n)
    if not pooled or t <= 0:
        return None
    se = math.sqrt(pooled * (1 - pooled) * (1 / canary_n + 1 / champion_n))
    return max(boundary(alpha) * se / math.sqrt(t), floor) + z(power) * se


def binomial_tail(k: int, m: int, p: float = 0.5) -> float:
    """P(X >= k) for X ~ Binomial(m, p), summed in log space from the larger end."""
    if k <= 0:
        return 1.0
    if k > m:
        return 0.0
    if k <= m * p:
        return 1.0 - _lower_tail(k - 1, m, p)
    log_term = _log_pmf(k, m, p)
    total, term, j = 0.0, 1.0, k
    while j <= m and term > 1e-17:
        total += term
        term *= (m - j) / (j + 1) * p / (1 - p)
        j += 1
    return min(1.0, math.exp(log_term) * total)


def _lower_tail(k: int, m: int, p: float) -> float:
    """P(X <= k), k below the mean."""
    log_term = _log_pmf(k, m, p)
    total, term, j = 0.0, 1.0, k
    while j >= 0 and term > 1e-17:
        total += term
        term *= j / (m - j + 1) * (1 - p) / p
        j -= 1
    return min(1.0, math.exp(log_term) * total)


def _log_pmf(k: int, m: int, p: float) -> float:
    return (
        math.lgamma(m + 1)
        - math.lgamma(k + 1)
        - math.lgamma(m - k + 1)
        + k * math.log(p)
        + (m - k) * math.log1p(-p)
    )


def paired_p_value(newly_blocked: int, newly_approved: int) -> float:
    """One-sided exact p-value that the challenger blocks more than the champion on the same
    transactions: P(X >= newly_blocked), X ~ Binomial(discordant pairs, 1/2)."""
    return binomial_tail(newly_blocked, newly_blocked + newly_approved)


def paired_critical(pairs: int, alpha: float) -> int:
    """The fewest newly blocked of `pairs` discordant pairs with p-value <= alpha."""
    k = max(0, math.floor(pairs / 2 + z(1 - alpha) * math.sqrt(pairs) / 2) - 3)
    while binomial_tail(k, pairs) > alpha:
        k += 1
    return k


def paired_detectable(rows: int, pairs: int, alpha: float, power: float, floor: float) -> float:
    """The absolute increase the shadow's test catches with `power` at this many rows and
    discordant pairs (normal approximation)."""
    spread = math.sqrt(max(pairs, 1)) / rows
    return max(z(1 - alpha) * spread, floor) + z(power) * spread


@lru_cache(maxsize=64)
def paired_power(rows: int, discordance: float, effect: float, alpha: float, floor: float) -> float:
    """Exact power of the shadow's test over `rows` transactions, `discordance` of them decided
    differently, the challenger blocking `effect` more: averaged over the Poisson number of
    discordant pairs, each given its exact binomial test and the floor."""
    mean = rows * discordance
    chance = (discordance + effect) / (2 * discordance)
    spread = 5 * math.sqrt(mean) + 5
    total = 0.0
    for pairs in range(max(0, int(mean - spread)), int(mean + spread) + 1):
        weight = math.exp(pairs * math.log(mean) - mean - math.lgamma(pairs + 1))
        needed = max(paired_critical(pairs, alpha), math.ceil((pairs + floor * rows) / 2))
        total += weight * binomial_tail(needed, pairs, chance)
    return total


@lru_cache(maxsize=64)
def shadow_size(
    base_rate: float, increase: float, floor: float, discordance: float, alpha: float, power: float
) -> int:
    """Shadowed transactions for the paired test to reach `power` (exact, found by search from
    the normal approximation)."""
    effect = design_effect(base_rate, increase, floor)
    if discordance < effect:
        raise ValueError(f"discordance {discordance} below the effect {effect}: impossible")
    chance = (discordance + effect) / (2 * discordance)
    sd = 0.5 * z(1 - alpha) + z(power) * math.sqrt(chance * (1 - chance))
    rows = math.ceil((sd / (chance - 0.5)) ** 2 / discordance)
    while paired_power(rows, discordance, effect, alpha, floor) < power:
        rows = math.ceil(rows * 1.01)
    return rows
