"""Release decisions, pure: the stage plan, canary health and the shadow comparison.

A candidate that passed the gate shadows the champion (`challenger`), then serves a growing
sticky share of customers (`canary`, 10 -> 25 -> 50 -> 100 % by default) and becomes champion.
Here are only the rules; Dagster assets and sensors gather the figures and move the aliases.

The harm a release must not do is block more customers. By default a candidate is stopped
when it blocks 20 % more than the champion (relative; `decline_increase`), never for an
increase under 0.1 point (`decline_floor`). The shadow sees the same transactions as the
champion: a paired test on the ones the two decide differently. The canary serves other
customers (a salted hash): a two-sample test valid however often the sensor checks it. Both
are sized (`stage_size`, `shadow_rows`) to catch that increase at the expected decline rate
with `power`, and to roll back an identical model at most `alpha` of the time; the statistics
are in `fraud_core.release_stats`. Error rate, p99 latency and (where labels exist) FPR are
checked against fixed limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

from fraud_core import release_stats as stats
from fraud_core.fpr_lines import FPR_CRITICAL

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
    """Stages, test design and limits of a release (defaults: the case study's 72-hour shadow
    and volumes; stage sizes computed from the test design)."""

    stages: tuple[int, ...] = (10, 25, 50, 100)
    shadow_min_rows: int | None = None
    """Shadowed transactions before the verdict; None: `shadow_rows` computes them."""
    shadow_min_seconds: float = 72 * 3600
    stage_min_seconds: float = 3600
    stage_min_samples: int | None = None
    """Canary predictions in every stage (where its decline test ends); None: computed per
    stage from the design below (`stage_size`)."""
    decline_increase: float = 0.20
    """Relative increase in declines (blocked customers) that must stop a release."""
    decline_floor: float = 0.001
    """Absolute increase (0.1 point) under which nothing is stopped, whatever the relative one."""
    base_decline_rate: float = 0.02
    """The champion's expected decline rate, which the stages are sized for."""
    shadow_discordance: float = 0.02
    """Expected share of shadowed transactions the two models decide differently."""
    alpha: float = 0.005
    """Chance of stopping a candidate that blocks exactly as often as the champion, under
    continuous checking. The canary's bound is tight there (1 % measured 1.04 % at 1,000 checks
    a stage, the normal approximation's error): 0.5 % keeps the 1 % requirement with margin."""
    power: float = 0.95
    """Chance of stopping one that blocks `decline_increase` more, by the end of a stage."""
    max_error_rate: float = 0.05
    p99_latency_slo_seconds: float = 0.05
    """Canary scoring p99 (in-process histogram) that rolls the release back. Looser than the
    10 ms `ScoringLatencyP99High` warning: a rollback acts on one stage's sample, where a
    handful of slow requests (a garbage collection, a busy node) decide the percentile."""
    max_fpr: float = FPR_CRITICAL
    min_fpr_labels: int = 100
    shadow_fpr_margin: float = 0.005
    """How far the challenger's shadow FPR (realized or estimated) may exceed the champion's:
    this many points, or a tenth of the champion's, whichever is larger."""

    def __post_init__(self) -> None:
        stages = tuple(self.stages)
        if not stages or stages[-1] != 100 or any(not 0 < s <= 100 for s in stages):
            raise ValueError(f"release stages must be in 1..100 and end at 100, got {stages}")
        if list(stages) != sorted(set(stages)):
            raise ValueError(f"release stages must strictly increase, got {stages}")
        object.__setattr__(self, "stages", stages)
        for name, low, high in (
            ("alpha", 0, 0.5),
            ("power", 0.5, 1),
            ("decline_increase", 0, 10),
            ("base_decline_rate", 0, 0.5),
            ("shadow_discordance", 0, 1),
        ):
            if not low < getattr(self, name) < high:
                raise ValueError(f"release plan: {name} must be in ({low}, {high})")
        for name in ("decline_floor", "shadow_fpr_margin"):
            if not 0 <= getattr(self, name) < 0.1:
                raise ValueError(f"release plan: {name} must be in [0, 0.1)")
        for name in ("stage_min_samples", "shadow_min_rows"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"release plan: {name} must be at least 1 (None: computed)")
        if self.shadow_discordance < self.design_effect:
            raise ValueError(
                f"release plan: shadow_discordance {self.shadow_discordance} is below the "
                f"increase it must detect ({self.design_effect})"
            )

    def next_stage(self, percent: int | None) -> int | None:
        """The stage after `percent` (None or 0: the first); None after the last."""
        if not percent:
            return self.stages[0]
        later = [s for s in self.stages if s > percent]
        return later[0] if later else None

    @property
    def design_effect(self) -> float:
        """The absolute increase in decline rate the tests are sized to catch."""
        return stats.design_effect(
            self.base_decline_rate, self.decline_increase, self.decline_floor
        )

    def stage_size(self, percent: int) -> int:
        """Canary predictions of the stage serving `percent` %: its decline test's horizon.
        Computed with the champion serving the rest (at 100 %: as many champion rows as canary
        ones, fewer than the release really has: conservative)."""
        if self.stage_min_samples is not None:
            return self.stage_min_samples
        ratio = (100 - percent) / percent if percent < 100 else 1.0
        return stats.canary_stage_size(
            self.base_decline_rate,
            self.decline_increase,
            self.decline_floor,
            ratio,
            self.alpha,
            self.power,
        )

    def stage_detects(self, percent: int) -> float:
        """The relative increase the stage's test catches with `power` at its size."""
        if self.stage_min_samples is None:
            return self.design_effect / self.base_decline_rate
        return stats.canary_stage_detects(
            self.stage_size(percent),
            self.base_decline_rate,
            self.decline_floor,
            self._ratio(percent),
            self.alpha,
            self.power,
        )

    @staticmethod
    def _ratio(percent: int) -> float:
        return (100 - percent) / percent if percent < 100 else 1.0

    @property
    def shadow_rows(self) -> int:
        """Shadowed transactions before the verdict."""
        if self.shadow_min_rows is not None:
            return self.shadow_min_rows
        return stats.shadow_size(
            self.base_decline_rate,
            self.decline_increase,
            self.decline_floor,
            self.shadow_discordance,
            self.alpha,
            self.power,
        )


@dataclass(frozen=True)
class Declines:
    """Predictions and blocks of the canary and of the champion over one window."""

    canary_n: int
    canary_blocks: int
    champion_n: int
    champion_blocks: int


@dataclass(frozen=True)
class StageSample:
    """What one canary stage served so far (since the stage started)."""

    percent: int
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
    tested: Declines | None = None
    """The decline test's window: the stage's first `stage_size` canary predictions and the
    champion's over the same time (None: the whole stage, not that large yet)."""

    @property
    def declines(self) -> Declines:
        return self.tested or Declines(
            self.canary_n, self.canary_blocks, self.champion_n, self.champion_blocks
        )


@dataclass(frozen=True)
class DeclineTest:
    """The state of a stage's decline test, in figures and in words."""

    canary_rate: float | None
    champion_rate: float | None
    increase: float | None
    """Relative: canary rate / champion rate - 1."""
    evidence: float
    needed: float
    information: float
    """Share of the stage's test done (canary predictions / stage size)."""
    canary_n: int
    stage_size: int
    detectable_now: float | None
    """Relative increase the test would catch with the plan's power if it ended now."""
    design_increase: float
    harmful: bool
    power_text: str = "95% of the time"

    @property
    def complete(self) -> bool:
        return self.canary_n >= self.stage_size

    @property
    def samples_needed(self) -> int:
        return max(0, self.stage_size - self.canary_n)

    @property
    def words(self) -> str:
        count = f"{self.canary_n:,} of {self.stage_size:,} canary predictions"
        if self.canary_rate is None or self.champion_rate is None:
            return f"no canary and champion predictions to compare yet; {count}"
        change = f": {self.increase:+.0%}" if self.increase is not None else ""
        head = f"canary blocks {self.canary_rate:.1%} vs {self.champion_rate:.1%}{change}"
        if self.harmful:
            strength = f"{self.evidence:.1f} >= {self.needed:.1f}"
            return f"{head}, evidence strong enough to roll back ({strength})"
        if self.complete:
            return (
                f"{head}, no evidence of harm over the stage's {self.stage_size:,} canary "
                f"predictions (a {self.design_increase:+.0%} increase is caught "
                f"{self.power_text})"
            )
        now = f"{self.detectable_now:+.0%}" if self.detectable_now is not None else "nothing"
        return (
            f"{head}, evidence {self.evidence:.1f} of {self.needed:.1f} needed to roll back; "
            f"{count}, would catch {now} now"
        )

    def figures(self) -> dict[str, float | int | str | None]:
        return {
            "canary_decline_rate": self.canary_rate,
            "champion_decline_rate": self.champion_rate,
            "decline_increase": self.increase,
            "decline_evidence": round(self.evidence, 4),
            "decline_evidence_needed": round(self.needed, 4),
            "decline_test_done": round(self.information, 4),
            "stage_size": self.stage_size,
            "samples_needed": self.samples_needed,
            "detectable_increase_now": self.detectable_now,
            "decline_test": self.words,
        }


def _rate(hits: int, n: int) -> float | None:
    return hits / n if n else None


def decline_test(counts: Declines, plan: ReleasePlan, percent: int) -> DeclineTest:
    """The canary's decline test at `percent` % on `counts` (the test's window)."""
    size = plan.stage_size(percent)
    evidence, done = (
        float(v)
        for v in stats.decline_evidence(
            counts.canary_n,
            counts.canary_blocks,
            counts.champion_n,
            counts.champion_blocks,
            size,
            percent < 100,
        )
    )
    canary, champion = (
        _rate(counts.canary_blocks, counts.canary_n),
        _rate(counts.champion_blocks, counts.champion_n),
    )
    increase = canary / champion - 1 if canary is not None and champion else None
    needed = stats.boundary(plan.alpha)
    harmful = (
        canary is not None
        and champion is not None
        and bool(stats.decline_harmful(evidence, canary, champion, plan.alpha, plan.decline_floor))
    )
    detectable = None
    if counts.canary_n and counts.champion_n and champion:
        absolute = stats.canary_detectable(
            counts.canary_n,
            counts.canary_blocks,
            counts.champion_n,
            counts.champion_blocks,
            done,
            plan.alpha,
            plan.power,
            plan.decline_floor,
        )
        detectable = absolute / champion if absolute is not None else None
    return DeclineTest(
        canary,
        champion,
        increase,
        evidence,
        needed,
        done,
        counts.canary_n,
        size,
        detectable,
        plan.stage_detects(percent),
        harmful,
        f"{plan.power:.0%} of the time",
    )


def duration(seconds: float) -> str:
    """A duration in the unit a release manager reads it in."""
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"


Verdict = Literal["advance", "wait", "rollback"]


@dataclass(frozen=True)
class Health:
    """The verdict on a stage, why, and the figures behind it (for the audit log and the UI)."""

    verdict: Verdict
    reasons: tuple[str, ...]
    figures: Mapping[str, float | int | str | None | dict] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return f"{self.verdict}: " + "; ".join(self.reasons)


def evaluate_stage(sample: StageSample, plan: ReleasePlan) -> Health:
    """Roll back on evidence of more declines or any breached limit; advance once the stage
    has its size and minimum duration; else wait (with how long, at the current traffic)."""
    test = decline_test(sample.declines, plan, sample.percent)
    figures: dict = asdict(sample) | test.figures()
    problems = [test.words] if test.harmful else []
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
    if sample.canary_n < test.stage_size:
        left = test.stage_size - sample.canary_n
        eta = None
        if sample.canary_n and sample.elapsed_seconds > 0:
            eta = left * sample.elapsed_seconds / sample.canary_n
            figures["seconds_needed"] = round(eta)
        waiting.append(
            test.words
            + (f"; about {duration(eta)} more at the current canary traffic" if eta else "")
        )
    if sample.elapsed_seconds < plan.stage_min_seconds:
        waiting.append(f"{sample.elapsed_seconds:.0f} of {plan.stage_min_seconds:.0f} s")
    if waiting:
        return Health("wait", tuple(waiting), figures)
    return Health("advance", (f"healthy: {test.words}",), figures)


@dataclass(frozen=True)
class ShadowFigures:
    """The challenger against the champion on the same served transactions."""

    rows: int
    agreement_rate: float
    champion_decline_rate: float
    challenger_decline_rate: float
    newly_blocked: int = 0
    """Transactions the champion approved and the challenger would block."""
    newly_approved: int = 0
    """Transactions the champion blocked and the challenger would approve."""
    labelled_rows: int = 0
    champion_fpr: float | None = None
    """Share blocked of the legit-labelled rows (biased: within a shadow window these are
    nearly all disputes of payments the champion blocked)."""
    challenger_fpr: float | None = None
    champion_recall: float | None = None
    challenger_recall: float | None = None
    """Share blocked of the fraud-labelled rows (biased: a blocked fraud is rarely reported)."""
    champion_fpr_estimate: float | None = None
    challenger_fpr_estimate: float | None = None


@dataclass(frozen=True)
class PairedTest:
    """The shadow's paired decline test, in figures and in words."""

    increase: float | None
    p_value: float
    detectable: float | None
    """Relative increase this many shadowed rows catch with the plan's power."""
    rows_needed: int
    harmful: bool
    words: str

    def figures(self) -> dict[str, float | int | str | None]:
        return {
            "decline_increase": self.increase,
            "decline_p_value": self.p_value,
            "detectable_increase": self.detectable,
            "rows_needed": self.rows_needed,
            "decline_test": self.words,
        }


def shadow_test(figures: ShadowFigures, plan: ReleasePlan) -> PairedTest:
    """Exact binomial test on the discordant pairs: does the challenger block more?"""
    blocked, approved, rows = figures.newly_blocked, figures.newly_approved, figures.rows
    champion, challenger = figures.champion_decline_rate, figures.challenger_decline_rate
    p = stats.paired_p_value(blocked, approved)
    increase = challenger / champion - 1 if champion else None
    harmful = p < plan.alpha and (blocked - approved) >= plan.decline_floor * rows
    absolute = (
        stats.paired_detectable(
            rows, blocked + approved, plan.alpha, plan.power, plan.decline_floor
        )
        if rows
        else None
    )
    detectable = absolute / champion if absolute is not None and champion else None
    head = (
        f"challenger blocks {challenger:.2%} vs champion {champion:.2%} on the same "
        f"{rows:,} transactions"
        + (f": {increase:+.0%}" if increase is not None else "")
        + f" ({blocked:,} newly blocked, {approved:,} newly approved, p={p:.2g})"
    )
    if harmful:
        words = f"{head}, evidence strong enough to stop the release"
    else:
        catch = f"{detectable:+.0%}" if detectable is not None else "nothing yet"
        words = f"{head}, no evidence it blocks more (these rows would catch {catch})"
    needed = max(0, plan.shadow_rows - rows)
    return PairedTest(increase, p, detectable, needed, harmful, words)


def judge_shadow(figures: ShadowFigures, plan: ReleasePlan) -> tuple[bool, tuple[str, ...]]:
    """Whether the challenger may start its canary: no evidence it blocks more customers
    (paired test), and no worse FPR than the champion's on the labelled rows once
    `min_fpr_labels` back it, else no worse label-free estimate and that under `max_fpr`.

    The labelled rows get no absolute cap: within a shadow window no approved payment matures,
    so nearly every legitimate label is a dispute of a payment the champion blocked (its FPR
    there ~100 %), and a challenger approving half of those showed 50 %, refused however many
    false blocks it saved. Like with like, the rows still compare the two models."""
    reasons = []
    test = shadow_test(figures, plan)
    if test.harmful:
        reasons.append(test.words)
    realized = figures.labelled_rows >= plan.min_fpr_labels and None not in (
        figures.champion_fpr,
        figures.challenger_fpr,
    )
    mine, theirs, kind = (
        (figures.challenger_fpr, figures.champion_fpr, "FPR on labelled shadow rows")
        if realized
        else (figures.challenger_fpr_estimate, figures.champion_fpr_estimate, "estimated FPR")
    )
    if (
        mine is not None
        and theirs is not None
        and mine > theirs + max(theirs / 10, plan.shadow_fpr_margin)
    ):
        reasons.append(f"{kind} {mine:.2%} vs champion {theirs:.2%}")
    if not realized and mine is not None and mine > plan.max_fpr:
        reasons.append(f"{kind} {mine:.2%} > {plan.max_fpr:.0%}")
    return not reasons, tuple(reasons)
