"""`shadow_evaluation`: the challenger against the champion on the traffic it shadowed, and the
blocking check that keeps a worse challenger from reaching any customer."""

import dagster as dg

from fraud_assets.defs.release.settings import ReleaseSettings
from fraud_assets.handoffs import HANDOFF_IO_MANAGER, ShadowVerdict
from fraud_assets.provenance import actor, provenance
from fraud_assets.resources import FeedbackStoreResource, RegistryResource
from fraud_assets.tables import metadata_table


@dg.asset(
    deps=["challenger_model"],  # the challenger is the registry's `challenger` alias
    io_manager_key=HANDOFF_IO_MANAGER,
    group_name="release",
    kinds={"mlflow", "sql"},
    owners=["team:data"],
    description="The challenger against the champion on the same transactions: a paired test "
    "on the ones they decide differently (does it block more customers?), agreement, decision "
    "flips by segment, both models' FPR on the labelled rows and label-free estimates; a worse "
    "challenger is rejected (alias cleared, version tagged).",
)
def shadow_evaluation(
    context: dg.AssetExecutionContext,
    registry: RegistryResource,
    store: FeedbackStoreResource,
    release: ReleaseSettings,
) -> dg.Output[ShadowVerdict]:
    from dataclasses import asdict

    from fraud_core import release_ops
    from fraud_core.registry import CHALLENGER
    from fraud_core.release import judge_shadow, shadow_test
    from fraud_core.release_data import flips_by_segment, shadow_figures
    from fraud_core.store.release_queries import shadow_frame

    facade = registry.open()
    version = facade.aliases().get(CHALLENGER)
    if version is None:
        raise dg.Failure("no challenger to evaluate: the `challenger` alias is not set")
    since = release_ops.stage_started(facade, version)
    frame = shadow_frame(store.open(), version, since)
    if frame.empty:
        raise dg.Failure(f"no shadow predictions of version {version} since {since.isoformat()}")
    figures, plan = shadow_figures(frame), release.plan()
    passed, reasons = judge_shadow(figures, plan)
    test = shadow_test(figures, plan)
    summary = f"passed: {test.words}" if passed else "failed: " + "; ".join(reasons)
    who = actor(context)
    facade.set_version_tags(version, {"shadow_evaluation": summary})
    facade.audit(
        who,
        f"shadow_evaluation.{'passed' if passed else 'failed'}",
        version,
        summary,
        {
            "figures": asdict(figures) | test.figures(),
            "since": since.isoformat(),
            "run_id": context.run.run_id,
        },
    )
    if not passed:
        release_ops.rollback(
            facade, actor=who, reason=f"shadow evaluation {summary}", figures=asdict(figures)
        )
    champions = sorted(set(frame["model_version"]))
    return dg.Output(
        ShadowVerdict(model_version=version, passed=bool(passed), summary=summary),
        metadata={
            **provenance(context),
            "model_version": version,
            "champion_versions": ", ".join(champions),
            "shadow_passed": passed,
            "shadow_result": summary,
            "since": since.isoformat(),
            "dagster/row_count": figures.rows,
            "shadow_rows_planned": plan.shadow_rows,
            **{k: v for k, v in asdict(figures).items() if v is not None and k != "rows"},
            **{k: v for k, v in test.figures().items() if v is not None},
            "flips_by_segment": metadata_table(flips_by_segment(frame)),
        },
    )


@dg.asset_check(
    asset=shadow_evaluation,
    blocking=True,
    description="Blocks the canary unless the latest shadow evaluation passed.",
)
def shadow_not_worse(shadow_evaluation: ShadowVerdict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=shadow_evaluation.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=shadow_evaluation.summary,
        metadata={"model_version": shadow_evaluation.model_version},
    )
