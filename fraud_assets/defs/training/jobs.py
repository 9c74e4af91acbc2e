"""The retraining job: labeled predictions -> dataset -> model -> gate -> challenger (shadow)
-> thresholds of the models served, the challenger's own among them."""

import dagster as dg

from fraud_assets.provenance import RETRAIN_TAG
from fraud_assets.tracking import end_mlflow_on_run_finished

RETRAINING_ASSETS = (
    "labeled_predictions",
    "training_dataset",
    "trained_model",
    "validation_gate",
    "challenger_model",
    "threshold_policy",
)

retraining_job = dg.define_asset_job(
    "retraining",
    selection=dg.AssetSelection.assets(*RETRAINING_ASSETS),
    executor_def=dg.in_process_executor,
    hooks={end_mlflow_on_run_finished},
    tags=dict([RETRAIN_TAG]),
    description="Retrain on the last 90 days of labels, gate against the champion, shadow a "
    "passing candidate as `challenger` at thresholds learned on its holdout (the release "
    "sensors take it from there). "
    "Unpartitioned: it reads the daily-ingested store through labeled_predictions as of now. "
    "At most one runs at a time (tag retrain=fraud, limited in dagster.yaml).",
)
