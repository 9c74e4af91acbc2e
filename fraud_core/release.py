"""Release decisions, pure: the stage plan, canary health and the shadow comparison.

A candidate that passed the gate shadows the champion (`challenger`), then serves a growing
sticky share of customers (`canary`, 10 -> 25 -> 50 -> 100 % by default) and becomes champion.
Here are only the rules; Dagster assets and sensors gather the figures and move the aliases.

Canary health needs no labels: canary and champion serve disjoint customer sets drawn by a
salted hash, so their decline rates are two independent proportions. A one-sided
two-proportion z-test asks whether the canary blocks more than the champion by over
`decline_margin`; error rate, p99 latency and (where labels exist) FPR are checked against
fixed limits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

STAGE_TAG = "release_stage"
STAGE_STARTED_TAG = "release_stage_started_at"
SHADOW, STABLE, ROLLED_BACK = "shadow", "stable", "rolled back"


def canary_stage(percent: int) -> str:
    return f"canary {percent}%"


def parse_stages(text: str) -> tuple[int, ...]:
    """ "10,25,50,100" -> (10, 25, 50, 100); ValueError on anything else."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"release stages must be comma-separated integers, got {text!r}") from None


@dataclass(frozen=True)
class ReleasePlan:
    """Stages and limits of a release (defaults: the case study's 72-hour shadow, 1-hour stages)."""

    stages: tuple[int, ...] = (10, 25, 50, 100)
    shadow_min_rows: int = 10_000
    shadow_min_seconds: float = 72 * 3600
    max_agreement_drop: float = 0.05
    """Shadow: the challenger's decline rate may exceed the champion's by at most this."""
    stage_min_seconds: float = 3600
    stage_min_samples: int = 1_000
    """Canary predictions needed in a stage before it can advance (or be judged on declines)."""
    decline_margin: float = 0.01
    alpha: float = 0.01
    max_error_rate: float = 0.05
    p99_latency_slo_seconds: float = 0.05
    """Canary scoring p99 (in-process histogram) that rolls the release back. Looser than the
    10 ms `ScoringLatencyP99High` warning: a rollback acts on one stage's sample, where a
    handful of slow requests (a garbage collection, a busy node) decide the percentile."""
    max_fpr: float = 0.15
    min_fpr_labels: int = 100

    def __post_init__(self) -> None:
        stages = tuple(self.stages)
        if not stages or stages[-1] != 100 or any(not 0 < s <= 100 for s in stages):
            raise ValueError(f"release stages must be in 1..100 and end at 100, got {stages}")
        if list(stages) != sorted(set(stages)):
            raise ValueError(f"release stages must strictly increase, got {stages}")
        object.__setattr__(self, "stages", stages)

    def next_stage(self, percent: int | None) -> int | None:
        """The stage after `percent` (None or 0: the first); None after the last."""
        if not percent:
            return self.stages[0]
        later = [s for s in self.stages if s > percent]
        return later[0] if later else None


def two_proportion_test(
    hits_a: int, n_a: int, hits_b: int, n_b: int, margin: float = 0.0
) -> tuple[float, float]:
    """One-sided test that rate a exceeds rate b by more than `margin`: (z, p-value).

    Unpooled standard error (the null is a difference of `margin`, not equality); with no
    variance at all the p-value is 0 or 1 depending on the observed difference.
    """
    if n_a <= 0 or n_b <= 0:
        raise ValueError("both samples need at least one observation")
    p_a, p_b = hits_a / n_a, hits_b / n_b
    diff = p_a - p_b - margin
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    if se == 0:
        return (math.inf, 0.0) if diff > 0 else (-math.inf if diff < 0 else 0.0, 1.0)
    z = diff / se
    return z, 0.5 * math.erfc(z / math.sqrt(2))


@dataclass(frozen=True)
class StageSample:
    """What one canary stage served so far (since the stage started)."""

    canary_n: int
    canary_blocks: int
    champion_n: int
    champion_blocks: int
    elapsed_seconds: float
    canary_requests: int | None = None
    canary_errors: int | None = None
    p99_latency_seconds: float | None = None
    fpr: float | None = None
    fpr_labels: int = 0


Verdict = Literal["advance", "wait", "rollback"]


@dataclass(frozen=True)
class Health:
    """The verdict on a stage, why, and the figures behind it (for the audit log and the UI)."""

    verdict: Verdict
    reasons: tuple[str, ...]
    figures: Mapping[str, float | int | None] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return f"{self.verdict}: " + "; ".join(self.reasons)


def _rate(hits: int, n: int) -> float | None:
    return hits / n if n else None


def evaluate_stage(sample: StageSample, plan: ReleasePlan) -> Health:
    """Roll back on any breached limit, advance once the stage is long and large enough."""
    figures: dict[str, float | int | None] = asdict(sample)
    canary_rate = _rate(sample.canary_blocks, sample.canary_n)
    champion_rate = _rate(sample.champion_blocks, sample.champion_n)
    figures |= {"canary_decline_rate": canary_rate, "champion_decline_rate": champion_rate}
    problems: list[str] = []
    enough = sample.canary_n >= plan.stage_min_samples and sample.champion_n > 0
    if enough:
        z, p = two_proportion_test(
            sample.canary_blocks,
            sample.canary_n,
            sample.champion_blocks,
            sample.champion_n,
            plan.decline_margin,
        )
        # JSON-safe figures (audit log): an infinite z (no variance at all) is recorded as None
        figures |= {"decline_z": z if math.isfinite(z) else None, "decline_p_value": p}
        if p < plan.alpha:
            problems.append(
                f"canary declines {canary_rate:.2%} vs champion {champion_rate:.2%} "
                f"(> +{plan.decline_margin:.1%}, p={p:.2g} < {plan.alpha})"
            )
    if sample.canary_requests and sample.canary_errors is not None:
        error_rate = sample.canary_errors / sample.canary_requests
        figures["error_rate"] = error_rate
        if error_rate >= plan.max_error_rate:
            problems.append(f"error rate {error_rate:.2%} >= {plan.max_error_rate:.0%}")
    if (
        sample.p99_latency_seconds is not None
        and sample.p99_latency_seconds > plan.p99_latency_slo_seconds
    ):
        problems.append(
            f"p99 latency {sample.p99_latency_seconds * 1000:.1f} ms > SLO "
            f"{plan.p99_latency_slo_seconds * 1000:.1f} ms"
        )
    labelled = sample.fpr is not None and sample.fpr_labels >= plan.min_fpr_labels
    if labelled and sample.fpr > plan.max_fpr:
        problems.append(f"FPR {sample.fpr:.2%} > {plan.max_fpr:.0%}")
    if problems:
        return Health("rollback", tuple(problems), figures)
    waiting = []
    if sample.canary_n < plan.stage_min_samples:
        waiting.append(f"{sample.canary_n} of {plan.stage_min_samples} canary predictions")
    if sample.elapsed_seconds < plan.stage_min_seconds:
        waiting.append(f"{sample.elapsed_seconds:.0f} of {plan.stage_min_seconds:.0f} s")
    if waiting:
        return Health("wait", tuple(waiting), figures)
    rates = "no champion traffic" if champion_rate is None else f"{champion_rate:.2%}"
    return Health(
        "advance",
        (f"healthy: canary declines {canary_rate:.2%} vs champion {rates}",),
        figures,
    )


@dataclass(frozen=True)
class ShadowFigures:
    """The challenger against the champion on the same served transactions."""

    rows: int
    agreement_rate: float
    champion_decline_rate: float
    challenger_decline_rate: float
    labelled_rows: int = 0
    champion_fpr: float | None = None
    challenger_fpr: float | None = None
    champion_recall: float | None = None
    challenger_recall: float | None = None
    """Share blocked of the fraud-labelled rows (biased: a blocked fraud is rarely reported)."""
    champion_fpr_estimate: float | None = None
    challenger_fpr_estimate: float | None = None


def judge_shadow(figures: ShadowFigures, plan: ReleasePlan) -> tuple[bool, tuple[str, ...]]:
    """Whether the challenger may start its canary: not blocking clearly more than the
    champion, and no worse FPR on labelled rows (realized, else label-free estimate)."""
    reasons = []
    extra = figures.challenger_decline_rate - figures.champion_decline_rate
    if extra > plan.max_agreement_drop:
        reasons.append(
            f"challenger declines {figures.challenger_decline_rate:.2%} vs champion "
            f"{figures.champion_decline_rate:.2%} (> +{plan.max_agreement_drop:.0%})"
        )
    realized = figures.labelled_rows >= plan.min_fpr_labels and None not in (
        figures.champion_fpr,
        figures.challenger_fpr,
    )
    mine, theirs, kind = (
        (figures.challenger_fpr, figures.champion_fpr, "FPR on labelled shadow rows")
        if realized
        else (figures.challenger_fpr_estimate, figures.champion_fpr_estimate, "estimated FPR")
    )
    if mine is not None and theirs is not None and mine > max(theirs * 1.1, theirs + 0.005):
        reasons.append(f"{kind} {mine:.2%} vs champion {theirs:.2%}")
    if mine is not None and mine > plan.max_fpr:
        reasons.append(f"{kind} {mine:.2%} > {plan.max_fpr:.0%}")
    return not reasons, tuple(reasons)
