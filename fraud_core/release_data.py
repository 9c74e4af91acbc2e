"""Figures a release is judged on: stage counts and shadow rows from the feedback store, error
and latency signals from the scorer's `/metrics`. Read-only; rules live in `fraud_core.release`.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from fraud_core.release import Declines, ReleasePlan, ShadowFigures
from fraud_core.store.release_queries import (
    canary_label_counts,
    decision_counts,
    nth_canary_time,
    paired_counts,
)

LATENCY_BUCKET = "fraud_prediction_latency_seconds_bucket"

if TYPE_CHECKING:
    import pandas as pd

    from fraud_core.registry import ModelRegistry
    from fraud_core.store import FeedbackStore


def _declines(counts: dict[str, tuple[int, int]]) -> Declines:
    return Declines(*counts["canary"], *counts["champion"])


def stage_declines(
    store: FeedbackStore, version: str, since: datetime, champion_since: datetime, size: int
) -> tuple[Declines, Declines | None]:
    """The stage's counts, and those of its decline test once the canary served more than
    `size` predictions: up to the `size`-th (the test ends there), the champion's likewise."""
    whole = _declines(decision_counts(store, since, version, champion_since))
    if whole.canary_n <= size:
        return whole, None
    until = nth_canary_time(store, version, since, size)
    return whole, _declines(decision_counts(store, since, version, champion_since, until))


def stage_window(registry: ModelRegistry, version: str, percent: int, plan: ReleasePlan):
    """(stage start, start of the champion's comparison rows): at the last stage the champion
    serves nobody, so it is compared with its rows of the stage before, the latest it served
    beside the canary (about as many as the stage's, as `ReleasePlan.stage_size` assumes).
    Under drift every model's decline rate climbs with time: against the champion's rows since
    the release began, weeks older, a canary as good as the champion looked worse."""
    from fraud_core import release_ops

    since = release_ops.stage_started(registry, version)
    if percent != plan.stages[-1] or len(plan.stages) < 2:
        return since, since
    before = [
        h["at"]
        for h in release_ops.stage_history(registry, version)
        if h.get("percent") == plan.stages[-2]
    ]
    return since, (datetime.fromisoformat(before[-1]) if before else since)


def canary_fpr(store: FeedbackStore, since: datetime, version: str) -> tuple[float | None, int]:
    """Share of the canary's legitimate customers that it blocked, and how many labels back it.

    Numerator: blocked canary predictions labelled legit (disputes). Denominator: those plus
    the approved canary predictions with no fraud report (provisionally legit: within a stage
    no approved payment matures, and leaving them out made every dispute a 100 % FPR). None
    until some blocked prediction is labelled legit."""
    blocked, approved = canary_label_counts(store, since, version)
    if not blocked:
        return None, blocked
    return blocked / (blocked + approved), blocked


def shadow_figures(frame: pd.DataFrame) -> ShadowFigures:
    """Agreement, decline rates, FPR and recall on the labelled rows, label-free FPR estimates."""
    from fraud_core.evaluation import estimate_without_labels

    served, shadow = frame["decision"] == "block", frame["shadow_decision"] == "block"
    champion = _model_blocks(frame)
    legit, fraud = frame["label"] == "legit", frame["label"] == "fraud"
    amounts = frame["amount_usd"].to_numpy()
    mine = estimate_without_labels(frame["shadow_score"].to_numpy(), shadow.to_numpy(), amounts)
    theirs = estimate_without_labels(frame["score"].to_numpy(), served.to_numpy(), amounts)
    n_legit, n_fraud = int(legit.sum()), int(fraud.sum())
    return ShadowFigures(
        rows=len(frame),
        agreement_rate=float((champion == shadow).mean()),
        champion_decline_rate=float(champion.mean()),
        challenger_decline_rate=float(shadow.mean()),
        newly_blocked=int((~champion & shadow).sum()),
        newly_approved=int((champion & ~shadow).sum()),
        labelled_rows=int(frame["label"].notna().sum()),
        champion_fpr=float(served[legit].mean()) if n_legit else None,
        challenger_fpr=float(shadow[legit].mean()) if n_legit else None,
        champion_recall=float(served[fraud].mean()) if n_fraud else None,
        challenger_recall=float(shadow[fraud].mean()) if n_fraud else None,
        champion_fpr_estimate=theirs.fpr,
        challenger_fpr_estimate=mine.fpr,
    )


def _model_blocks(frame: pd.DataFrame) -> pd.Series:
    """The champion model's block decisions: served blocks and the ones exploration approved
    (the shadow's decision is the challenger's before exploration: like with like)."""
    return (frame["decision"] == "block") | frame["explored"].astype(bool)


def flips_by_segment(frame: pd.DataFrame) -> list[dict]:
    """Per segment: rows, champion-approve -> challenger-block flips and the reverse."""
    served, shadow = _model_blocks(frame), frame["shadow_decision"] == "block"
    table = frame.assign(newly_blocked=~served & shadow, newly_approved=served & ~shadow)
    grouped = table.groupby("segment").agg(
        rows=("transaction_id", "size"),
        newly_blocked=("newly_blocked", "sum"),
        newly_approved=("newly_approved", "sum"),
    )
    return [
        {"segment": segment, **{k: int(v) for k, v in row.items()}}
        for segment, row in grouped.sort_values("rows", ascending=False).iterrows()
    ]


@dataclass(frozen=True)
class ScorerCounters:
    """A scorer's cumulative canary counters (since its process started): the canary version's
    requests and errors, and the canary latency histogram as (upper bound, cumulative count)."""

    requests: int = 0
    errors: int = 0
    buckets: tuple[tuple[float, float], ...] = ()

    def since(self, baseline: ScorerCounters | None) -> ScorerCounters:
        """The counts added after `baseline` (all of them if the scorer restarted meanwhile)."""
        if baseline is None or self.requests < baseline.requests:
            return self
        before = dict(baseline.buckets)
        return ScorerCounters(
            self.requests - baseline.requests,
            self.errors - baseline.errors,
            tuple((le, n - before.get(le, 0)) for le, n in self.buckets),
        )

    def p99(self) -> float | None:
        """Upper bucket bound of the 99th latency percentile (the largest finite bound when it
        falls in +Inf: JSON-safe, and past any SLO); None without observations."""
        total = self.buckets[-1][1] if self.buckets else 0
        if not total:
            return None
        bound = next(bound for bound, count in self.buckets if count >= 0.99 * total)
        return bound if math.isfinite(bound) else max(b for b, _ in self.buckets[:-1])


def scorer_counters(url: str, version: str) -> ScorerCounters:
    """Read a scorer's `/metrics` for the canary `version`."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url.rstrip('/')}/metrics", timeout=5).raise_for_status().text
    requests = errors = 0
    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = s.labels
            if s.name == "fraud_predictions_total" and labels.get("model_version") == version:
                if labels.get("variant") == "canary":
                    requests += int(s.value)
                    errors += int(s.value) if labels.get("outcome") == "error" else 0
            elif s.name == LATENCY_BUCKET and labels.get("variant") == "canary":
                buckets.append((float(labels["le"]), s.value))
    return ScorerCounters(requests, errors, tuple(sorted(buckets)))


def describe_release(
    registry: ModelRegistry, plan: ReleasePlan | None = None, now: datetime | None = None
) -> str:
    """One line on the release in progress, for a release manager: the canary stage's decline
    test (rates, relative change, evidence, samples and time still needed), or the shadow's."""
    from fraud_core import clock, release_ops
    from fraud_core.registry import CANARY, CHALLENGER
    from fraud_core.release import StageSample, evaluate_stage, shadow_test
    from fraud_core.settings import get_settings

    plan = plan or get_settings().release_plan()
    now = now or clock.now()
    aliases, store = registry.aliases(), registry.store
    percent = registry.canary_percent()
    if aliases.get(CANARY) and percent:
        version = aliases[CANARY]
        since, champion_since = stage_window(registry, version, percent, plan)
        whole, tested = stage_declines(store, version, since, champion_since,
                                       plan.stage_size(percent))  # fmt: skip
        sample = StageSample(percent, *astuple(whole), (now - since).total_seconds(),
                             tested=tested)  # fmt: skip
        return f"canary {version} at {percent}%, {evaluate_stage(sample, plan).summary}"
    if aliases.get(CHALLENGER):
        version = aliases[CHALLENGER]
        since = release_ops.stage_started(registry, version)
        counts = paired_counts(store, version, since)
        if not counts["rows"]:
            return f"shadow {version}: no shadowed transactions yet"
        rows = counts["rows"]
        figures = ShadowFigures(
            rows=rows,
            agreement_rate=1 - (counts["newly_blocked"] + counts["newly_approved"]) / rows,
            champion_decline_rate=counts["champion_blocks"] / rows,
            challenger_decline_rate=counts["challenger_blocks"] / rows,
            newly_blocked=counts["newly_blocked"],
            newly_approved=counts["newly_approved"],
        )
        return (f"shadow {version}, {rows:,} of {plan.shadow_rows:,} transactions: "
                f"{shadow_test(figures, plan).words}")  # fmt: skip
    return "no release in progress"
