"""MLflow registry facade: register versions, move deployment aliases, load models for serving.

Aliases are the single source of truth for deployment (docs/architecture.md, section 7):
`champion` serves, `challenger` shadows, `canary` takes `canary_traffic_percent` % of traffic,
`previous` is the rollback target. One module per job, `ModelRegistry` joins them:
- `names.py`      aliases, tags, errors, `ModelVersionInfo`
- `client.py`     the `MlflowClient`, model name, audit store
- `model_logging.py`  log a trained model and register it as a version
- `reads.py`      versions, the release state, the run behind a version
- `records.py`    tags, rejection, audit entries, additions to a version's run
- `aliases.py`    audited alias moves under the store's lock (`StaleMove` when planned on a
                  state that has changed)
- `serving.py`    load a version: one XGBoost thread for the scorer, every core for batch work

Everything goes through one `MlflowClient` built from explicit URIs: no global MLflow state
(no `set_tracking_uri`, no active run), so a Dagster run that also uses dagster-mlflow's fluent
API, or a scorer polling the registry, is never disturbed. mlflow is imported lazily.
"""

from fraud_core.registry.aliases import AliasMoves
from fraud_core.registry.model_logging import ModelLogging, training_window_hash
from fraud_core.registry.names import (
    ALIASES,
    CANARY,
    CANARY_TAG,
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    ModelVersionInfo,
    RegistryError,
    StaleMove,
    UnknownAlias,
    UnknownVersion,
)
from fraud_core.registry.records import VersionRecords
from fraud_core.registry.serving import BATCH_THREADS, ServingLoads


class ModelRegistry(ModelLogging, VersionRecords, AliasMoves, ServingLoads):
    """The `fraud-detector` registered model: log, register, read, record, move aliases, load
    for serving (`RegistryClient` for the constructor)."""


__all__ = [
    "ALIASES",
    "BATCH_THREADS",
    "CANARY",
    "CANARY_TAG",
    "CHALLENGER",
    "CHAMPION",
    "PREVIOUS",
    "ModelRegistry",
    "ModelVersionInfo",
    "RegistryError",
    "StaleMove",
    "UnknownAlias",
    "UnknownVersion",
    "training_window_hash",
]
