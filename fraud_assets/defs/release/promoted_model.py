"""`promoted_model`: a candidate that served the last canary stage healthily becomes `champion`
(the old one `previous`), with every stage's figures in the audit record."""

import json

import dagster as dg

from fraud_assets.defs.release.canary_release import StageConfig
from fraud_assets.provenance import actor, mlflow_run_url, provenance
from fraud_assets.resources import RegistryResource
from fraud_assets.tables import metadata_table


@dg.asset(
    deps=["canary_release"],
    group_name="release",
    kinds={"mlflow"},
    owners=["team:data"],
    description="Moves `champion` to the canary once it serves 100% and passed that stage's "
    "health checks; `previous` keeps the old champion, `canary` and `challenger` are cleared.",
)
def promoted_model(
    context: dg.AssetExecutionContext, config: StageConfig, registry: RegistryResource
) -> dg.MaterializeResult:
    from fraud_core import release_ops
    from fraud_core.registry import CANARY, CHAMPION, PREVIOUS

    facade = registry.open()
    version = facade.aliases().get(CANARY)
    if version is None or facade.canary_percent() != 100:
        raise dg.Failure(
            f"no canary at 100% to promote (canary {version}, {facade.canary_percent()}%)"
        )
    figures = json.loads(config.figures)
    facade.audit(
        actor(context),
        "release.stage",
        version,
        config.reason,
        {"version": version, "percent": "champion", "figures": figures},
    )
    done = release_ops.promote(
        facade,
        version,
        actor=actor(context),
        reason=config.reason,
        expect_champion=config.expect_champion or None,
    )
    stages = done["stages"] if done else release_ops.stage_history(facade, version)
    aliases = facade.aliases()
    info = facade.get_version(version)
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "model_version": version,
            "champion": aliases.get(CHAMPION),
            "previous": aliases.get(PREVIOUS, "none"),
            "stages": metadata_table(
                [{"at": s["at"], "percent": s["percent"], "reason": s["reason"]} for s in stages]
            ),
            "last_stage_figures": figures,
            "mlflow_run": dg.MetadataValue.url(
                mlflow_run_url(facade.run_experiment(info.run_id), info.run_id)
            ),
        }
    )
