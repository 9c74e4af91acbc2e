"""`validation_gate`: the candidate against the champion on the same holdout, and the blocking
check that keeps a refused candidate from going any further."""

import json
from dataclasses import asdict
from typing import Any

import dagster as dg

from fraud_assets.handoffs import HANDOFF_IO_MANAGER, GateVerdict, TrainedCandidate
from fraud_assets.provenance import actor, mlflow_run_url, provenance
from fraud_assets.resources import RegistryResource
from fraud_assets.tables import metadata_table
from fraud_core.training_rules import GatePolicy

_DEFAULT = GatePolicy()


class GateConfig(dg.Config):
    """The gate's rules (see fraud_core.training.GatePolicy)."""

    threshold: float = _DEFAULT.threshold
    min_f1_gain: float = _DEFAULT.min_f1_gain
    fpr_tolerance: float = _DEFAULT.fpr_tolerance
    segment_fpr_tolerance: float = _DEFAULT.segment_fpr_tolerance
    segment_recall_tolerance: float = _DEFAULT.segment_recall_tolerance
    segment_recall_alpha: float = _DEFAULT.segment_recall_alpha
    min_segment_rows: int = _DEFAULT.min_segment_rows
    min_segment_frauds: int = _DEFAULT.min_segment_frauds
    floor_recall: float = _DEFAULT.floor_recall
    floor_precision: float = _DEFAULT.floor_precision
    floor_pr_auc: float = _DEFAULT.floor_pr_auc
    max_fpr: float = _DEFAULT.max_fpr


@dg.asset(
    io_manager_key=HANDOFF_IO_MANAGER,
    group_name="training",
    kinds={"xgboost", "mlflow"},
    owners=["team:data"],
    description="Candidate vs champion on the candidate's holdout: F1 >= champion + 0.02, FPR "
    "not worse, expected cost lower, no segment regressing; absolute floors for a first model.",
)
def validation_gate(
    context: dg.AssetExecutionContext,
    config: GateConfig,
    registry: RegistryResource,
    trained_model: TrainedCandidate,
) -> dg.Output[GateVerdict]:
    import pandas as pd

    from fraud_core.features import FEATURE_NAMES
    from fraud_core.registry import BATCH_THREADS, CHAMPION
    from fraud_core.training import evaluate, fraud_flips, judge

    version = trained_model.model_version
    holdout = pd.read_parquet(trained_model.holdout_path)
    X = holdout[list(FEATURE_NAMES)].to_numpy("float32")
    policy = GatePolicy(**config.model_dump())
    facade = registry.open()
    scores = facade.load(version, BATCH_THREADS).predict(X)
    mine = evaluate(holdout, scores, policy)
    champion_info = facade.version_for(CHAMPION)
    champion_version = champion_info.version if champion_info else None
    theirs, flips = None, None
    if champion_version is not None and champion_version != version:
        champion_scores = facade.load(champion_version, BATCH_THREADS).predict(X)
        theirs = evaluate(holdout, champion_scores, policy)
        flips = fraud_flips(holdout, scores, champion_scores, policy.threshold)
    decision = judge(mine, theirs, policy, flips)

    verdict = "passed" if decision.passed else "failed"
    facade.set_version_tags(
        version,
        {
            "validation_gate": verdict,
            "gate_reasons": "; ".join(decision.reasons) or "none",
            "gate_champion": champion_version or "none (absolute floors)",
        },
    )
    run_id = trained_model.mlflow_run_id  # the candidate's own run, even when re-gated later
    figures = {f"gate_candidate_{r['metric']}": r["candidate"] for r in decision.comparison}
    figures |= {
        f"gate_champion_{r['metric']}": r["champion"]
        for r in decision.comparison
        if r["champion"] is not None
    }
    gate_tags = {"validation_gate": verdict, "gate_champion": champion_version or "none"}
    facade.record_on_run(run_id, metrics=figures, tags=gate_tags)
    who = actor(context)
    details = {
        "champion_version": champion_version,
        "comparison": list(decision.comparison),
        "policy": asdict(policy),
        "dagster_run_id": context.run.run_id,
        "holdout_rows": len(holdout),
    }
    facade.audit(who, f"validation_gate.{verdict}", version, decision.summary, details)
    if not decision.passed:
        facade.mark_rejected(version, decision.summary, actor=who)
    experiment_id = facade.run_experiment(run_id)
    result = GateVerdict(
        model_version=version,
        champion_version=champion_version,
        passed=bool(decision.passed),
        summary=decision.summary,
        dagster_run_id=context.run.run_id,
    )
    return dg.Output(
        result,
        metadata={
            **provenance(context),
            "model_version": version,
            "champion_version": champion_version or "none",
            "gate_passed": decision.passed,
            "gate_result": decision.summary,
            "reasons": dg.MetadataValue.md(
                "\n".join(f"- {r}" for r in decision.reasons) or "_all rules passed_"
            ),
            "comparison": metadata_table(decision.comparison, ["metric", "candidate", "champion"]),
            "segments": metadata_table(decision.segment_comparison),
            "policy": asdict(policy),
            "holdout_rows": len(holdout),
            "champion_trained_on_holdout": _overlaps(champion_info, trained_model),
            "mlflow_run_id": run_id,
            "mlflow_run": dg.MetadataValue.url(mlflow_run_url(experiment_id, run_id)),
        },
    )


def _overlaps(champion_info: Any, candidate: TrainedCandidate) -> bool | str:
    """Whether the champion's training window reaches into the holdout (it then has an edge)."""
    import pandas as pd

    if champion_info is None or "training_window" not in champion_info.tags:
        return "no champion" if champion_info is None else "unknown"
    window = json.loads(champion_info.tags["training_window"])
    return bool(window.get("end")) and pd.Timestamp(window["end"]) >= candidate.holdout_start


@dg.asset_check(
    asset=validation_gate,
    blocking=True,
    description="Blocks promotion unless the latest gate passed; closes the MLflow run when "
    "nothing downstream will run.",
)
def gate_passed(mlflow: dg.ResourceParam[Any], validation_gate: GateVerdict) -> dg.AssetCheckResult:
    if not validation_gate.passed:
        mlflow.end_run()
    return dg.AssetCheckResult(
        passed=validation_gate.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=validation_gate.summary,
        metadata={
            "model_version": validation_gate.model_version,
            "gate_result": validation_gate.summary,
        },
    )
