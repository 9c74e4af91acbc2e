"""Resources of the code location: feedback store, model registry, MLflow tracking, folders, clock,
the IO manager of the values assets hand each other.

A field whose variable is set in the environment is an `EnvVar` (resolved when a run starts);
one left unset takes the embedded default of `fraud_core.settings`, so a fresh clone runs as is.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from fraud_assets.handoffs import HANDOFF_IO_MANAGER, HandoffIOManager
from fraud_assets.resources import (
    Clock,
    DaskResource,
    FeedbackStoreResource,
    LakeResource,
    LocalFolder,
    RegistryResource,
    RetrainingTriggers,
)
from fraud_assets.tracking import EXPERIMENT_NAME, mlflow_tracking
from fraud_core.settings import Settings, get_settings


def _env(settings: Settings, name: str) -> Any:
    """`EnvVar` of setting `name` when its variable is set, so the Dagster UI shows the
    variable's name rather than its value (URLs carry passwords) and runs resolve it when they
    start; else the setting's default."""
    if name in settings.model_fields_set:
        variable = Settings.variable(name)
        numeric = isinstance(getattr(settings, name), int)
        return dg.EnvVar.int(variable) if numeric else dg.EnvVar(variable)
    value = getattr(settings, name)
    return "" if value is None else value if isinstance(value, int) else str(value)


def _env_config(settings: Settings, name: str) -> Any:
    """The same choice for a legacy resource's config (`{"env": name}` is its EnvVar)."""
    if name in settings.model_fields_set:
        return {"env": Settings.variable(name)}
    return str(getattr(settings, name))


@dg.definitions
def resources() -> dg.Definitions:
    settings = get_settings()
    store = FeedbackStoreResource(db_url=_env(settings, "db_url"))
    clock = Clock(now=_env(settings, "now"))
    return dg.Definitions(
        resources={
            "store": store,
            "registry": RegistryResource(
                tracking_uri=_env(settings, "mlflow_tracking_uri"),
                model_name=_env(settings, "model_name"),
                store=store,
            ),
            "mlflow": mlflow_tracking.configured(
                {
                    "experiment_name": EXPERIMENT_NAME,
                    "mlflow_tracking_uri": _env_config(settings, "mlflow_tracking_uri"),
                    "artifact_location": _env_config(settings, "mlflow_artifact_root"),
                }
            ),
            "reports": LocalFolder(path=_env(settings, "reports_dir")),
            "datasets": LocalFolder(path=_env(settings, "datasets_dir")),
            "landing": LocalFolder(path=_env(settings, "landing_dir")),
            "clock": clock,
            "lake": LakeResource(url=_env(settings, "lake_url"), clock=clock),
            "dask": DaskResource(address=_env(settings, "dask_address")),
            "triggers": RetrainingTriggers(min_new_labels=_env(settings, "retrain_min_labels")),
            # derived from FRAUD_VAR_DIR as the definitions load (no variable of its own)
            HANDOFF_IO_MANAGER: HandoffIOManager(base_dir=str(settings.handoffs_dir)),
        }
    )
