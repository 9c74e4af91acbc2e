"""Resources of the code location: feedback store, model registry, MLflow tracking, folders, clock.

Each field is read from the environment (`EnvVar`); the embedded defaults of
`fraud_core.settings` fill in any variable left unset, so a fresh clone runs as is.
"""

from __future__ import annotations

import os

import dagster as dg

from fraud_assets.resources import (
    Clock,
    FeedbackStoreResource,
    LocalFolder,
    RegistryResource,
    RetrainingTriggers,
)
from fraud_assets.tracking import EXPERIMENT_NAME, mlflow_tracking
from fraud_core.settings import get_settings


def _env_with_default(name: str, default: str) -> dg.EnvVar:
    os.environ.setdefault(name, default)
    return dg.EnvVar(name)


def _int_env_with_default(name: str, default: int) -> dg.EnvVar:
    os.environ.setdefault(name, str(default))
    return dg.EnvVar.int(name)


@dg.definitions
def resources() -> dg.Definitions:
    settings = get_settings()
    store = FeedbackStoreResource(db_url=_env_with_default("FRAUD_DB_URL", settings.db_url))
    tracking_uri = _env_with_default("MLFLOW_TRACKING_URI", settings.mlflow_tracking_uri)
    _env_with_default("FRAUD_MLFLOW_ARTIFACTS", settings.mlflow_artifact_root)
    return dg.Definitions(
        resources={
            "store": store,
            "registry": RegistryResource(
                tracking_uri=tracking_uri,
                model_name=_env_with_default("FRAUD_MODEL_NAME", settings.model_name),
                store=store,
            ),
            "mlflow": mlflow_tracking.configured(
                {
                    "experiment_name": EXPERIMENT_NAME,
                    "mlflow_tracking_uri": {"env": "MLFLOW_TRACKING_URI"},
                    "artifact_location": {"env": "FRAUD_MLFLOW_ARTIFACTS"},
                }
            ),
            "reports": LocalFolder(
                path=_env_with_default("FRAUD_REPORTS_DIR", str(settings.reports_dir))
            ),
            "datasets": LocalFolder(
                path=_env_with_default("FRAUD_DATASETS_DIR", str(settings.var_dir / "datasets"))
            ),
            "landing": LocalFolder(
                path=_env_with_default("FRAUD_LANDING_DIR", str(settings.landing_dir))
            ),
            "clock": Clock(now=_env_with_default("FRAUD_NOW", "")),
            "triggers": RetrainingTriggers(
                min_new_labels=_int_env_with_default("FRAUD_RETRAIN_MIN_LABELS", 1000)
            ),
        }
    )
