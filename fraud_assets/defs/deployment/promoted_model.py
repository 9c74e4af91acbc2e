"""`promoted_model`: a candidate that passed the gate becomes `champion` (old one `previous`)."""

import dagster as dg

from fraud_assets.provenance import actor, latest_metadata, mlflow_run_url, provenance
from fraud_assets.resources import RegistryResource


@dg.asset(
    deps=["validation_gate"],
    group_name="deployment",
    kinds={"mlflow"},
    owners=["team:data"],
    description="Moves `champion` to the gated candidate through the registry facade (the old "
    "champion becomes `previous`), with an audit record of why.",
)
def promoted_model(
    context: dg.AssetExecutionContext, registry: RegistryResource
) -> dg.MaterializeResult:
    from fraud_core.registry import CHAMPION, PREVIOUS

    gate = latest_metadata(context.instance, "validation_gate")
    version = str(gate["model_version"])
    if not gate["gate_passed"]:
        raise dg.Failure(
            f"version {version} did not pass the validation gate: {gate['gate_result']}"
        )
    who = provenance(context)
    facade = registry.open()
    info = facade.promote(
        version,
        actor=actor(context),
        reason=f"passed the validation gate ({who['trigger']}: {who['reason']})",
        details={
            "gate_result": gate["gate_result"],
            "gate_champion": gate["champion_version"],
            "dagster_run_id": context.run.run_id,
            "gate_run_id": gate["__run_id__"],
        },
    )
    aliases = facade.aliases()
    run = facade.client.get_run(info.run_id)
    return dg.MaterializeResult(
        metadata={
            **who,
            "champion": aliases.get(CHAMPION),
            "previous": aliases.get(PREVIOUS, "none"),
            "gate_result": gate["gate_result"],
            "training_window_hash": info.tags.get("training_window_hash", "unknown"),
            "mlflow_run": dg.MetadataValue.url(mlflow_run_url(run.info.experiment_id, info.run_id)),
        }
    )
