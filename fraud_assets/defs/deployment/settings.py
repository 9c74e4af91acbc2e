"""The release plan as a resource (`release`), from the environment when the definitions load
(`fraud_core.release.PLAN_ENV`; the same variables `fraudops status` reads):

- FRAUD_RELEASE_STAGES ("10,25,50,100");
- FRAUD_RELEASE_DECLINE_INCREASE (0.20): relative increase in blocked customers that stops a
  release; FRAUD_RELEASE_DECLINE_FLOOR (0.001): absolute increase under which nothing stops;
- FRAUD_RELEASE_BASE_RATE (0.02, the champion's expected decline rate) and
  FRAUD_RELEASE_DISCORDANCE (0.02, expected share decided differently in shadow): what the
  stage and shadow sizes are computed for, with FRAUD_RELEASE_ALPHA (0.01, false stops of an
  identical model) and FRAUD_RELEASE_POWER (0.95);
- FRAUD_STAGE_MIN_SAMPLES / FRAUD_SHADOW_MIN_ROWS: unset (or 0) = computed from the above;
  set = that many, in every stage (tests and demos release in seconds with small ones, at the
  price of power: the recorded `detectable_increase_now` says how much);
- FRAUD_STAGE_MIN_SECONDS (3600), FRAUD_SHADOW_MIN_SECONDS (72 h), FRAUD_CANARY_P99_SLO_SECONDS
  (0.05), FRAUD_SCORER_URL (a single scorer whose `/metrics` give the canary's errors and
  latency), FRAUD_PROMETHEUS_URL (a Prometheus scraping every scorer replica: when set, it is
  read instead, summed over replicas).
"""

from __future__ import annotations

import os

import dagster as dg

from fraud_core.release import ReleasePlan, parse_stages, plan_from_env

_DEFAULT = ReleasePlan()


class ReleaseSettings(dg.ConfigurableResource):
    """Stages, test design, minimums, health limits, and where the scorer's metrics are."""

    stages: str = ",".join(map(str, _DEFAULT.stages))
    shadow_min_rows: int = 0
    """Shadowed rows before the verdict; 0: computed from the test design."""
    shadow_min_seconds: int = int(_DEFAULT.shadow_min_seconds)
    stage_min_seconds: int = int(_DEFAULT.stage_min_seconds)
    stage_min_samples: int = 0
    """Canary predictions per stage; 0: computed per stage from the test design."""
    decline_increase: float = _DEFAULT.decline_increase
    decline_floor: float = _DEFAULT.decline_floor
    base_decline_rate: float = _DEFAULT.base_decline_rate
    shadow_discordance: float = _DEFAULT.shadow_discordance
    alpha: float = _DEFAULT.alpha
    power: float = _DEFAULT.power
    max_error_rate: float = _DEFAULT.max_error_rate
    p99_latency_slo_seconds: float = _DEFAULT.p99_latency_slo_seconds
    max_fpr: float = _DEFAULT.max_fpr
    scorer_url: str = ""
    """Base URL of a scorer whose `/metrics` give the canary's errors and latency (optional)."""
    prometheus_url: str = ""
    """Base URL of a Prometheus scraping every scorer replica; when set, used instead."""

    @classmethod
    def from_plan(
        cls, plan: ReleasePlan, scorer_url: str = "", prometheus_url: str = ""
    ) -> ReleaseSettings:
        return cls(
            stages=",".join(map(str, plan.stages)),
            shadow_min_rows=plan.shadow_min_rows or 0,
            shadow_min_seconds=int(plan.shadow_min_seconds),
            stage_min_seconds=int(plan.stage_min_seconds),
            stage_min_samples=plan.stage_min_samples or 0,
            decline_increase=plan.decline_increase,
            decline_floor=plan.decline_floor,
            base_decline_rate=plan.base_decline_rate,
            shadow_discordance=plan.shadow_discordance,
            alpha=plan.alpha,
            power=plan.power,
            max_error_rate=plan.max_error_rate,
            p99_latency_slo_seconds=plan.p99_latency_slo_seconds,
            max_fpr=plan.max_fpr,
            scorer_url=scorer_url,
            prometheus_url=prometheus_url,
        )

    def plan(self) -> ReleasePlan:
        return ReleasePlan(
            stages=parse_stages(self.stages),
            shadow_min_rows=self.shadow_min_rows or None,
            shadow_min_seconds=self.shadow_min_seconds,
            stage_min_seconds=self.stage_min_seconds,
            stage_min_samples=self.stage_min_samples or None,
            decline_increase=self.decline_increase,
            decline_floor=self.decline_floor,
            base_decline_rate=self.base_decline_rate,
            shadow_discordance=self.shadow_discordance,
            alpha=self.alpha,
            power=self.power,
            max_error_rate=self.max_error_rate,
            p99_latency_slo_seconds=self.p99_latency_slo_seconds,
            max_fpr=self.max_fpr,
        )


@dg.definitions
def release_resources() -> dg.Definitions:
    plan = plan_from_env()
    return dg.Definitions(
        resources={
            "release": ReleaseSettings.from_plan(
                plan,
                os.environ.get("FRAUD_SCORER_URL", ""),
                os.environ.get("FRAUD_PROMETHEUS_URL", ""),
            )
        }
    )
