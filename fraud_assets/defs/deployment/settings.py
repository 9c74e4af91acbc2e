"""The release plan as a resource (`release`): FRAUD_RELEASE_STAGES ("10,25,50,100"),
FRAUD_SHADOW_MIN_ROWS / _SECONDS, FRAUD_STAGE_MIN_SECONDS / _SAMPLES, FRAUD_SCORER_URL,
FRAUD_CANARY_P99_SLO_SECONDS (0.05).

A variable set when the definitions load is an `EnvVar`; one left unset takes the plan's
default. Durations and sample sizes are configurable so that tests and demos release in seconds.
"""

from __future__ import annotations

import os

import dagster as dg

from fraud_core.release import ReleasePlan, parse_stages
from fraud_core.settings import env_number

_DEFAULT = ReleasePlan()


class ReleaseSettings(dg.ConfigurableResource):
    """Stages, shadow and stage minimums, health limits, and where the scorer's metrics are."""

    stages: str = ",".join(map(str, _DEFAULT.stages))
    shadow_min_rows: int = _DEFAULT.shadow_min_rows
    shadow_min_seconds: int = int(_DEFAULT.shadow_min_seconds)
    stage_min_seconds: int = int(_DEFAULT.stage_min_seconds)
    stage_min_samples: int = _DEFAULT.stage_min_samples
    decline_margin: float = _DEFAULT.decline_margin
    alpha: float = _DEFAULT.alpha
    max_error_rate: float = _DEFAULT.max_error_rate
    p99_latency_slo_seconds: float = _DEFAULT.p99_latency_slo_seconds
    max_fpr: float = _DEFAULT.max_fpr
    scorer_url: str = ""
    """Base URL of a scorer whose `/metrics` give the canary's errors and latency (optional)."""

    def plan(self) -> ReleasePlan:
        return ReleasePlan(
            stages=parse_stages(self.stages),
            shadow_min_rows=self.shadow_min_rows,
            shadow_min_seconds=self.shadow_min_seconds,
            stage_min_seconds=self.stage_min_seconds,
            stage_min_samples=self.stage_min_samples,
            decline_margin=self.decline_margin,
            alpha=self.alpha,
            max_error_rate=self.max_error_rate,
            p99_latency_slo_seconds=self.p99_latency_slo_seconds,
            max_fpr=self.max_fpr,
        )


def _env(name: str, default: str) -> str | dg.EnvVar:
    """`EnvVar(name)` when the variable is set, else the default (no env mutation)."""
    return dg.EnvVar(name) if name in os.environ else default


def _int_env(name: str, default: int) -> int | dg.EnvVar:
    return dg.EnvVar.int(name) if name in os.environ else default


@dg.definitions
def release_resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "release": ReleaseSettings(
                stages=_env("FRAUD_RELEASE_STAGES", ReleaseSettings().stages),
                shadow_min_rows=_int_env("FRAUD_SHADOW_MIN_ROWS", _DEFAULT.shadow_min_rows),
                shadow_min_seconds=_int_env(
                    "FRAUD_SHADOW_MIN_SECONDS", int(_DEFAULT.shadow_min_seconds)
                ),
                stage_min_seconds=_int_env(
                    "FRAUD_STAGE_MIN_SECONDS", int(_DEFAULT.stage_min_seconds)
                ),
                stage_min_samples=_int_env("FRAUD_STAGE_MIN_SAMPLES", _DEFAULT.stage_min_samples),
                p99_latency_slo_seconds=env_number(
                    "FRAUD_CANARY_P99_SLO_SECONDS", _DEFAULT.p99_latency_slo_seconds, 0.001
                ),
                scorer_url=_env("FRAUD_SCORER_URL", ""),
            )
        }
    )
