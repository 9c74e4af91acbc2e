"""Canary health from a Prometheus query API, summed over every scorer replica.

Used by the release sensors when `FRAUD_PROMETHEUS_URL` is set (several scorer pods); the single
scorer's own `/metrics` (`release_data.scorer_counters`) stays for `make run`. Counts are
`increase(...)` over the stage so far, which survives replica restarts (counter resets); it
extrapolates each series' rate up to about 1.6 scrape intervals past its samples, a bias of
interval/stage age (a fraction of a percent once a stage is an hour old).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fraud_core.release_data import LATENCY_BUCKET, ScorerCounters

PREDICTIONS = "fraud_predictions_total"
MIN_WINDOW_SECONDS = 60  # several scrapes, whatever the stage's age


@dataclass(frozen=True)
class ReplicaHealth:
    """The canary's counts over the window (all replicas), and each variant's decline rate."""

    canary: ScorerCounters
    decline_rates: dict[str, float] = field(default_factory=dict)


def query(url: str, promql: str) -> list[tuple[dict[str, str], float]]:
    """An instant query: (labels, value) per series; httpx.HTTPError or ValueError on failure."""
    import httpx

    response = httpx.get(f"{url.rstrip('/')}/api/v1/query", params={"query": promql}, timeout=5)
    body = response.raise_for_status().json()
    if body.get("status") != "success":
        raise ValueError(f"Prometheus refused {promql!r}: {body.get('error', body)}")
    return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]


def canary_health(url: str, version: str, window_seconds: float) -> ReplicaHealth:
    """Canary `version`'s requests, errors and latency buckets over the last `window_seconds`
    (at least MIN_WINDOW_SECONDS), and the decline rate of every variant, over all replicas."""
    if not version.isdigit():
        raise ValueError(f"model version must be a number, got {version!r}")
    window = f"{max(math.ceil(window_seconds), MIN_WINDOW_SECONDS)}s"
    canary = f'variant="canary",model_version="{version}"'

    def total(selector: str) -> float:
        found = query(url, f"sum(increase({PREDICTIONS}{{{selector}}}[{window}]))")
        return found[0][1] if found else 0.0

    buckets = query(url, f'sum by (le) (increase({LATENCY_BUCKET}{{variant="canary"}}[{window}]))')
    by_variant = f"sum by (variant) (increase({PREDICTIONS}{{outcome{{op}}}}[{window}]))"
    blocks = dict(_by(query(url, by_variant.replace("{op}", '="block"')), "variant"))
    served = dict(_by(query(url, by_variant.replace("{op}", '!="error"')), "variant"))
    return ReplicaHealth(
        canary=ScorerCounters(
            round(total(canary)),
            round(total(f'{canary},outcome="error"')),
            tuple(sorted((float(labels["le"]), value) for labels, value in buckets)),
        ),
        decline_rates={v: blocks.get(v, 0.0) / n for v, n in served.items() if n > 0},
    )


def _by(series: list[tuple[dict[str, str], float]], label: str) -> list[tuple[str, float]]:
    return [(labels.get(label, ""), value) for labels, value in series]
