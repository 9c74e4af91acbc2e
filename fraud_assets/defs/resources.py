"""Resources of the code location: feedback store, model registry, MLflow tracking, folders, clock.

A field whose variable is set in the environment is an `EnvVar` (resolved when a run starts);
one left unset takes the embedded default of `fraud_core.settings`, so a fresh clone runs as is.
"""

from __future__ import annotations

import os

import dagster as dg

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
from fraud_core.settings import get_settings


def _env(name: str, default: str) -> str | dg.EnvVar:
    """`EnvVar(name)` when the variable is set, else the embedded default (no env mutation)."""
    return dg.EnvVar(name) if name in os.environ else default


def _int_env(name: str, default: int) -> int | dg.EnvVar:
    return dg.EnvVar.int(name) if name in os.environ else default


def _env_config(name: str, default: str) -> str | dict[str, str]:
    """The same choice for a legacy resource's config (`{"env": name}` is its EnvVar)."""
    return {"env": name} if name in os.environ else default


@dg.definitions
def resources() -> dg.Definitions:
    settings = get_settings()
    store = FeedbackStoreResource(db_url=_env("FRAUD_DB_URL", settings.db_url))
    clock = Clock(now=_env("FRAUD_NOW", ""))
    return dg.Definitions(
        resources={
            "store": store,
            "registry": RegistryResource(
                tracking_uri=_env("MLFLOW_TRACKING_URI", settings.mlflow_tracking_uri),
                model_name=_env("FRAUD_MODEL_NAME", settings.model_name),
                store=store,
            ),
            "mlflow": mlflow_tracking.configured(
                {
                    "experiment_name": EXPERIMENT_NAME,
                    "mlflow_tracking_uri": _env_config(
                        "MLFLOW_TRACKING_URI", settings.mlflow_tracking_uri
                    ),
                    "artifact_location": _env_config(
                        "FRAUD_MLFLOW_ARTIFACTS", settings.mlflow_artifact_root
                    ),
                }
            ),
            "reports": LocalFolder(path=_env("FRAUD_REPORTS_DIR", str(settings.reports_dir))),
            "datasets": LocalFolder(
                path=_env("FRAUD_DATASETS_DIR", str(settings.var_dir / "datasets"))
            ),
            "landing": LocalFolder(path=_env("FRAUD_LANDING_DIR", str(settings.landing_dir))),
            "clock": clock,
            "lake": LakeResource(
                url=_env("FRAUD_LAKE_URL", str(settings.var_dir / "lake")), clock=clock
            ),
            "dask": DaskResource(address=_env("FRAUD_DASK_ADDRESS", "")),
            "triggers": RetrainingTriggers(
                min_new_labels=_int_env("FRAUD_RETRAIN_MIN_LABELS", 1000)
            ),
        }
    )
