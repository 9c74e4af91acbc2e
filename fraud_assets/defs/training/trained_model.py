"""`trained_model`: the case study's XGBoost recipe on the training snapshot, evaluated on a
time-based holdout, logged to MLflow (dagster-mlflow run) and registered as a new version.

With `FRAUD_DASK_ADDRESS` set, the fit runs on the Dask cluster (`fraud_core.cluster`): its
workers rebuild the snapshot's rows day by day from the lake (checked against the snapshot's
row and fraud counts), the holdout comes back here, `xgboost.dask` fits on the rest; the model
logged is the same plain XGBClassifier.

No alias here: the candidate is only a version of the registry until it passes
`validation_gate`; `challenger_model` then puts it in shadow."""

from typing import Any

import dagster as dg

from fraud_assets.handoffs import HANDOFF_IO_MANAGER, TrainedCandidate, TrainingSnapshot
from fraud_assets.provenance import mlflow_run_url, provenance
from fraud_assets.resources import (
    DaskResource,
    FeedbackStoreResource,
    LakeResource,
    LocalFolder,
    RegistryResource,
)
from fraud_assets.tables import metadata_table
from fraud_core.training_rules import Recipe


class TrainingRecipe(dg.Config):
    max_depth: int = 6
    n_estimators: int = 200
    learning_rate: float = 0.1
    scale_pos_weight: float | None = None
    holdout_fraction: float = 0.2
    seed: int = 0
    legit_keep_fraction: float | None = None
    """Share of legitimate training rows the fit keeps, weighted 1/fraction (unset:
    `FRAUD_LEGIT_KEEP_FRACTION`, 1.0 = all); the holdout is never sampled."""


def _fit_here(snapshot: str, holdout_fraction: float, recipe: Recipe):
    """The in-process path: the model fitted on the snapshot's training share, streamed a day
    at a time (`fit_batches`), the holdout (its latest rows, in time order) as one frame, and
    the training share's rows before downsampling."""
    import pandas as pd
    import pyarrow.parquet as pq

    from fraud_core.features import FEATURE_NAMES
    from fraud_core.training import fit_batches, holdout_cut, snapshot_rows

    rows = pq.read_metadata(snapshot).num_rows
    cut = holdout_cut(rows, holdout_fraction)
    needed = ["transaction_id", "label", "weight", *FEATURE_NAMES]
    model = fit_batches(lambda: snapshot_rows(snapshot, 0, cut, needed), recipe)
    holdout = pd.concat(snapshot_rows(snapshot, cut, rows), ignore_index=True)
    return model, holdout, cut


def _counts(client: Any, days: list) -> tuple[int, int]:
    """Rows and frauds of the cluster's training days."""
    pairs = client.gather(
        [
            client.submit(lambda f: (len(f), int((f["label"] == "fraud").sum())), d, pure=False)
            for d in days
        ]
    )
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


@dg.asset(
    io_manager_key=HANDOFF_IO_MANAGER,
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
    dask: DaskResource,
    lake: LakeResource,
    store: FeedbackStoreResource,
    training_dataset: TrainingSnapshot,
) -> dg.Output[TrainedCandidate]:
    from fraud_core.settings import get_settings
    from fraud_core.training import GatePolicy, evaluate, features_and_target

    recipe = Recipe(
        max_depth=config.max_depth,
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        scale_pos_weight=config.scale_pos_weight,
        seed=config.seed,
        legit_keep_fraction=config.legit_keep_fraction or get_settings().legit_keep_fraction,
    )
    client = dask.client()
    if client is None:
        model, holdout, train_rows = _fit_here(
            training_dataset.path, config.holdout_fraction, recipe
        )
        engine = "in process"
    else:
        from fraud_core.cluster import fit_on_cluster, rows_by_day, split_by_time

        days = rows_by_day(
            client,
            lake.open(),
            store.open(),
            training_dataset.as_of,
            training_dataset.days,
            training_dataset.label_maturity_days,
        )
        rows, frauds = _counts(client, days)
        if (rows, frauds) != (training_dataset.rows, training_dataset.frauds):
            held = f"{training_dataset.rows} ({training_dataset.frauds})"
            raise dg.Failure(
                f"the lake and store give {rows} training rows ({frauds} frauds) where the "
                f"training_dataset snapshot holds {held}: rematerialize labeled_predictions and "
                "training_dataset"
            )
        train, holdout = split_by_time(client, days, config.holdout_fraction)
        model = fit_on_cluster(client, train, recipe)
        train_rows, engine = rows - len(holdout), f"dask ({client.scheduler.address})"
    X_holdout, _ = features_and_target(holdout)
    evaluation = evaluate(holdout, model.predict_proba(X_holdout)[:, 1], GatePolicy())
    holdout_path = datasets.dir("holdout") / f"{training_dataset.content_hash}.parquet"
    holdout.to_parquet(holdout_path, index=False)

    run = mlflow.active_run()
    who = provenance(context)
    mlflow.set_tags({"trigger": who["trigger"], "reason": who["reason"]})
    facade = registry.open()
    holdout_start = holdout["event_time"].min()
    window = {
        **training_dataset.window(),
        "train_rows": train_rows,
        "holdout_rows": len(holdout),
        "holdout_start": holdout_start.isoformat(),
    }
    params = {
        **config.model_dump(),
        "legit_keep_fraction": recipe.legit_keep_fraction,
        "engine": engine,
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
    candidate = TrainedCandidate(
        model_version=str(info.version),
        mlflow_run_id=run.info.run_id,
        holdout_path=str(holdout_path),
        holdout_start=holdout_start.to_pydatetime(),
        window_hash=training_dataset.content_hash,
        metrics={k: float(v) for k, v in evaluation.metrics.items()},
    )
    return dg.Output(
        candidate,
        metadata={
            **who,
            "model_version": info.version,
            "mlflow_run_id": run.info.run_id,
            "mlflow_run": dg.MetadataValue.url(
                mlflow_run_url(run.info.experiment_id, run.info.run_id)
            ),
            "training_window": window,
            "window_hash": training_dataset.content_hash,
            "holdout": dg.MetadataValue.path(str(holdout_path)),
            "params": params,
            **{f"holdout_{k}": float(v) for k, v in evaluation.metrics.items()},
            "holdout_by_segment": metadata_table(
                evaluation.segments,
                ["dimension", "segment", "rows", "frauds", "precision", "recall", "fpr"],
            ),
        },
    )
