"""`challenger_model`: the gated candidate starts its release in shadow (`challenger`).

With no champion yet there is nothing to shadow or compare against: the first model that
passes the gate's absolute floors is promoted directly.
"""

import dagster as dg

from fraud_assets.handoffs import GateVerdict
from fraud_assets.provenance import actor, mlflow_run_url, provenance
from fraud_assets.resources import RegistryResource


@dg.asset(
    group_name="release",
    kinds={"mlflow"},
    owners=["team:data"],
    description="Gives the gated candidate the `challenger` alias (the scorer shadows it from "
    "its next poll); the first model of an empty registry becomes champion directly.",
)
def challenger_model(
    context: dg.AssetExecutionContext, registry: RegistryResource, validation_gate: GateVerdict
) -> dg.MaterializeResult:
    from fraud_core import release_ops
    from fraud_core.registry import CHALLENGER, CHAMPION, PREVIOUS

    version = validation_gate.model_version
    if not validation_gate.passed:
        raise dg.Failure(
            f"version {version} did not pass the validation gate: {validation_gate.summary}"
        )
    who = provenance(context)
    facade = registry.open()
    if facade.aliases().get(CHAMPION) is None:
        release_ops.promote(
            facade,
            version,
            actor=actor(context),
            reason=f"first champion: passed the validation gate ({who['trigger']}: "
            f"{who['reason']})",
            details={
                "gate_result": validation_gate.summary,
                "gate_champion": validation_gate.champion_version or "none",
                "dagster_run_id": context.run.run_id,
                "gate_run_id": validation_gate.dagster_run_id,
            },
        )
        stage = "champion (first model: no release needed)"
    else:
        release_ops.start_shadow(
            facade,
            version,
            actor=actor(context),
            reason=f"passed the validation gate ({who['trigger']}: {who['reason']})",
        )
        stage = "shadow"
    aliases = facade.aliases()
    info = facade.get_version(version)
    return dg.MaterializeResult(
        metadata={
            **who,
            "model_version": version,
            "stage": stage,
            "champion": aliases.get(CHAMPION),
            "challenger": aliases.get(CHALLENGER, "none"),
            "previous": aliases.get(PREVIOUS, "none"),
            "gate_result": validation_gate.summary,
            "training_window_hash": info.tags.get("training_window_hash", "unknown"),
            "mlflow_run": dg.MetadataValue.url(
                mlflow_run_url(facade.run_experiment(info.run_id), info.run_id)
            ),
        }
    )
