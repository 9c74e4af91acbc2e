"""Release jobs: shadow verdict + first canary stage, next canary stage, promotion, rollback."""

import json

import dagster as dg

from fraud_assets.resources import RegistryResource

release_start_job = dg.define_asset_job(
    "release_start",
    selection=dg.AssetSelection.assets("shadow_evaluation", "canary_release"),
    executor_def=dg.in_process_executor,
    description="Judge the shadowed challenger; if its blocking check passes, open the first "
    "canary stage.",
)

canary_stage_job = dg.define_asset_job(
    "canary_stage",
    selection=dg.AssetSelection.assets("canary_release"),
    executor_def=dg.in_process_executor,
    description="Move the canary to the next stage of the plan.",
)

promotion_job = dg.define_asset_job(
    "promotion",
    selection=dg.AssetSelection.assets("promoted_model"),
    executor_def=dg.in_process_executor,
    description="Make the canary that served 100% healthily the champion.",
)


class RollbackConfig(dg.Config):
    """What to roll back and why; `version` empty = whatever is being released now."""

    version: str = ""
    reason: str = "rolled back by an operator"
    figures: str = "{}"
    restore_previous: bool = False


@dg.op(
    description="Canary share to 0 and `canary`/`challenger` cleared (the scorer follows "
    "within one poll), candidate marked rejected, audit record with the reason and figures; "
    "optionally `previous` restored as champion. Idempotent."
)
def rollback_release(
    context: dg.OpExecutionContext, config: RollbackConfig, registry: RegistryResource
) -> dg.Output:
    from fraud_assets.provenance import trigger_of
    from fraud_core import release_ops

    facade = registry.open()
    result = release_ops.rollback(
        facade,
        actor=f"dagster:{trigger_of(context.run.tags)}",
        reason=config.reason,
        figures=json.loads(config.figures),
        expected_version=config.version or None,
        restore_previous=config.restore_previous,
    )
    aliases = facade.aliases()
    context.log.info(f"rollback: {result}; aliases now {aliases}")
    return dg.Output(
        None,
        metadata={
            "rolled_back": result.rolled_back or "nothing",
            "restored": result.restored or "nothing",
            "aliases": aliases,
            "reason": config.reason,
        },
    )


@dg.job(
    name="rollback",
    executor_def=dg.in_process_executor,
    description="Pull the candidate being released (and optionally restore `previous`).",
)
def rollback_job() -> None:
    rollback_release()
