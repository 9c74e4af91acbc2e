"""`canary_release`: one canary stage per materialization (10 -> 25 -> 50 -> 100 % by default)."""

import json

import dagster as dg

from fraud_assets.defs.release.settings import ReleaseSettings
from fraud_assets.provenance import actor, provenance
from fraud_assets.resources import RegistryResource


class StageConfig(dg.Config):
    """Why the stage moves, and the health figures of the stage that ends (JSON)."""

    reason: str = "shadow evaluation passed"
    figures: str = "{}"
    expect_champion: str = ""
    """The champion when the sensor decided; a promotion is refused if it changed since."""


@dg.asset(
    deps=["shadow_evaluation"],
    group_name="release",
    kinds={"mlflow"},
    owners=["team:data"],
    description="Moves the candidate (the canary, else the challenger) to the next stage of the "
    "plan: `canary` alias and `canary_traffic_percent`; each stage is audited with the figures "
    "of the one before.",
)
def canary_release(
    context: dg.AssetExecutionContext,
    config: StageConfig,
    registry: RegistryResource,
    release: ReleaseSettings,
) -> dg.MaterializeResult:
    from fraud_core import release_ops
    from fraud_core.registry import CANARY

    facade = registry.open()
    version = release_ops.candidate(facade)
    if version is None:
        raise dg.Failure("nothing to release: neither `canary` nor `challenger` is set")
    plan = release.plan()
    current = facade.canary_percent() if facade.aliases().get(CANARY) == version else 0
    percent = plan.next_stage(current)
    if percent is None:
        raise dg.Failure(f"version {version} already serves {current}%: promote it instead")
    figures = json.loads(config.figures)
    size, detects = plan.stage_size(percent), plan.stage_detects(percent)
    release_ops.set_stage(
        facade, version, percent, actor=actor(context), reason=config.reason, figures=figures
    )
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "model_version": version,
            "stage": f"canary {percent}%",
            "canary_percent": percent,
            "previous_percent": current,
            "last_stage": percent == plan.stages[-1],
            "stage_reason": config.reason,
            "stage_size": size,
            "stage_plan": f"the decline test judges the stage's first {size:,} canary "
            f"predictions: it stops a candidate that blocks {detects:+.0%} more "
            f"customers {plan.power:.0%} of the time (at a {plan.base_decline_rate:.1%} decline "
            f"rate), an identical one at most {plan.alpha:.0%} of the time",
            "previous_stage_test": figures.get("decline_test", "none (first stage)"),
            "previous_stage_figures": figures,
        }
    )
