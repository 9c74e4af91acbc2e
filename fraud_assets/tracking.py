"""dagster-mlflow's `mlflow_tracking` resource and `end_mlflow_on_run_finished` hook, loaded lazily.

`dagster_mlflow` imports mlflow at import time (~6 s here), which would triple the load time of
the code location. These thin definitions keep its config and behaviour but import it only
when a run initialises the resource or fires the hook. dagster-mlflow marks its own classes
beta (`BetaWarning` on every run): known, so silenced here, where it is used.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.definitions.decorators.hook_decorator import event_list_hook

EXPERIMENT_NAME = "fraud-detector-training"


@dg.resource(
    config_schema={
        "experiment_name": dg.Field(dg.StringSource, default_value=EXPERIMENT_NAME),
        "mlflow_tracking_uri": dg.Field(dg.StringSource),
        "artifact_location": dg.Field(dg.StringSource, description="Root (path or URI)"),
        "extra_tags": dg.Field(dg.Permissive(), is_required=False),
    },
    description="dagster-mlflow's mlflow_tracking: one MLflow run per Dagster run, tagged with it",
)
def mlflow_tracking(context):
    from mlflow.tracking import MlflowClient

    with _beta_known():
        from dagster_mlflow import mlflow_tracking as tracking

    config = context.resource_config
    client = MlflowClient(config["mlflow_tracking_uri"])
    name = config["experiment_name"]
    if client.get_experiment_by_name(name) is None:
        root = config["artifact_location"].rstrip("/")
        if "://" not in root:
            root = Path(root).resolve().as_uri()
        client.create_experiment(name, artifact_location=f"{root}/{name}")
    with _beta_known():
        yield from tracking.resource_fn(context)


@event_list_hook(name="end_mlflow_on_run_finished", required_resource_keys={"mlflow"})
def end_mlflow_on_run_finished(context, event_list):
    """Ends the Dagster run's MLflow run after its last step (FAILED on a step failure)."""
    with _beta_known():
        from dagster_mlflow import end_mlflow_on_run_finished as hook

        return hook.hook_fn(context, event_list)


@contextmanager
def _beta_known() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.BetaWarning, module="dagster_mlflow")
        for known in ("Function `_create_mlflow_run_hook`", "Dagster resource `mlflow_tracking`"):
            warnings.filterwarnings("ignore", known, dg.BetaWarning)
        yield
