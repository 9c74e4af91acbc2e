"""`trained_model`: the case study's XGBoost recipe on the training snapshot, evaluated on a
time-based holdout, logged to MLflow (dagster-mlflow run) and registered as a new version.

No alias here: the candidate is only a version of the registry until it passes
`validation_gate`; `challenger_model` then puts it in shadow."""

from typing import Any

import dagster as dg

from fraud_assets.provenance import latest_metadata, mlflow_run_url, provenance
from fraud_assets.resources import LocalFolder, RegistryResource
from fraud_assets.tables import markdown_table


class TrainingRecipe(dg.Config):
    max_depth: int = 6
    n_estimators: int = 200
    learning_rate: float = 0.1
    scale_pos_weight: float | None = None
    holdout_fraction: float = 0.2
    seed: int = 0


@dg.asset(
    deps=["training_dataset"],
    group_name="training",
    kinds={"xgboost", "mlflow"},
    owners=["team:data"],
    description="XGBoost (scale_pos_weight) trained on all but the latest holdout share of the "
    "training window; registered in MLflow with its metrics, feature spec and window hash.",
)
def trained_model(
    context: dg.AssetExecutionContext,
    config: TrainingRecipe,
    registry: RegistryResource,
    datasets: LocalFolder,
    mlflow: dg.ResourceParam[Any],
) -> dg.MaterializeResult:
    import pandas as pd

    from fraud_core.training import (
        GatePolicy,
        Recipe,
        evaluate,
        features_and_target,
        fit,
        time_split,
    )

    upstream = latest_metadata(context.instance, "training_dataset")
    frame = pd.read_parquet(upstream["snapshot"])
    train, holdout = time_split(frame, config.holdout_fraction)
    del frame  # the split holds copies: keep one set in memory
    recipe = Recipe(
        max_depth=config.max_depth,
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        scale_pos_weight=config.scale_pos_weight,
        seed=config.seed,
    )
    X, y = features_and_target(train)
    weight, train_rows = train["weight"].to_numpy(), len(train)
    del train  # the matrix X is what the fit needs
    model = fit(X, y, recipe, sample_weight=weight)
    X_holdout, _ = features_and_target(holdout)
    evaluation = evaluate(holdout, model.predict_proba(X_holdout)[:, 1], GatePolicy())
    holdout_path = datasets.dir("holdout") / f"{upstream['window_hash']}.parquet"
    holdout.to_parquet(holdout_path, index=False)

    run = mlflow.active_run()
    who = provenance(context)
    mlflow.set_tags({"trigger": who["trigger"], "reason": who["reason"]})
    facade = registry.open()
    window = {
        **upstream["window"],
        "train_rows": train_rows,
        "holdout_rows": len(holdout),
        "holdout_start": holdout["event_time"].min().isoformat(),
    }
    params = {
        **config.model_dump(),
        "scale_pos_weight_used": model.get_params()["scale_pos_weight"],
    }
    info = facade.log_model(
        model,
        metrics={k: v for k, v in evaluation.metrics.items() if k not in ("rows", "frauds")},
        params=params,
        tags={"dagster_run_id": context.run.run_id, "trigger": who["trigger"]},
        run_id=run.info.run_id,
        training_window=window,
    )
    return dg.MaterializeResult(
        metadata={
            **who,
            "model_version": info.version,
            "mlflow_run_id": run.info.run_id,
            "mlflow_run": dg.MetadataValue.url(
                mlflow_run_url(run.info.experiment_id, run.info.run_id)
            ),
            "training_window": window,
            "window_hash": upstream["window_hash"],
            "holdout": dg.MetadataValue.path(str(holdout_path)),
            "params": params,
            **{f"holdout_{k}": float(v) for k, v in evaluation.metrics.items()},
            "holdout_by_segment": markdown_table(
                evaluation.segments,
                ["dimension", "segment", "rows", "frauds", "precision", "recall", "fpr"],
            ),
        }
    )
