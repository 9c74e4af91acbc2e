"""The release plan as a resource (`release`), built from `fraud_core.settings` when the
definitions load (the same variables `fraudops status` reads; each documented there and in the
README's configuration table). Its fields are `ReleasePlan`'s, one for one (a test checks), plus
where the scorer's metrics are.
"""

from __future__ import annotations

from dataclasses import asdict, fields

import dagster as dg

from fraud_core.release import ReleasePlan, parse_stages
from fraud_core.settings import get_settings

_DEFAULT = ReleasePlan()


class ReleaseSettings(dg.ConfigurableResource):
    """Stages, test design, minimums, health limits, and where the scorer's metrics are."""

    stages: str = ",".join(map(str, _DEFAULT.stages))
    shadow_min_rows: int = 0
    """Shadowed rows before the verdict; 0: computed from the test design."""
    shadow_min_seconds: float = _DEFAULT.shadow_min_seconds
    stage_min_seconds: float = _DEFAULT.stage_min_seconds
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
    min_fpr_labels: int = _DEFAULT.min_fpr_labels
    shadow_fpr_margin: float = _DEFAULT.shadow_fpr_margin
    scorer_url: str = ""
    """Base URL of a scorer whose `/metrics` give the canary's errors and latency (optional)."""
    prometheus_url: str = ""
    """Base URL of a Prometheus scraping every scorer replica; when set, used instead."""

    @classmethod
    def from_plan(
        cls, plan: ReleasePlan, scorer_url: str = "", prometheus_url: str = ""
    ) -> ReleaseSettings:
        values = asdict(plan)
        values["stages"] = ",".join(map(str, plan.stages))
        for size in ("shadow_min_rows", "stage_min_samples"):
            values[size] = values[size] or 0
        return cls(**values, scorer_url=scorer_url, prometheus_url=prometheus_url)

    def plan(self) -> ReleasePlan:
        values = {f.name: getattr(self, f.name) for f in fields(ReleasePlan)}
        values["stages"] = parse_stages(self.stages)
        for size in ("shadow_min_rows", "stage_min_samples"):
            values[size] = values[size] or None
        return ReleasePlan(**values)


@dg.definitions
def release_resources() -> dg.Definitions:
    settings = get_settings()
    release = ReleaseSettings.from_plan(
        settings.release_plan(), settings.scorer_url, settings.prometheus_url
    )
    return dg.Definitions(resources={"release": release})
