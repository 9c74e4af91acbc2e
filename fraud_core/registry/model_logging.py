"""Logging a trained model and registering it as a new version: the MLflow run, the model's
artifacts (xgboost and pyfunc flavours, feature spec, signature, explicit requirements), and the
version's tags (metrics, training window)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING, Any

from fraud_core.features import FEATURE_SPEC, FeatureSpec
from fraud_core.registry.client import RegistryClient
from fraud_core.registry.names import (
    FEATURE_SPEC_FILE,
    METRIC_TAG_PREFIX,
    ModelVersionInfo,
    RegistryError,
)

if TYPE_CHECKING:
    import xgboost

log = logging.getLogger(__name__)

MODEL_ARTIFACT_NAME = "model"


def training_window_hash(window: Mapping[str, Any]) -> str:
    """Stable short hash of the training window (dates, row counts, filters)."""
    payload = json.dumps(window, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _now_ms() -> int:
    return int(time.time() * 1000)


class ModelLogging(RegistryClient):
    """Logs trained models and registers them as versions."""

    def log_model(
        self,
        model: xgboost.XGBClassifier,
        *,
        feature_spec: FeatureSpec = FEATURE_SPEC,
        metrics: Mapping[str, float],
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        training_window: Mapping[str, Any] | None = None,
    ) -> ModelVersionInfo:
        """Log `model` with its feature spec and metrics, and register a new version.

        With `run_id` it logs into that existing run (e.g. dagster-mlflow's) and leaves it open;
        otherwise it creates a run in the experiment named after the model and ends it.
        """
        client = self.client
        own_run = run_id is None
        if own_run:
            run_info = client.create_run(self._experiment_id()).info
            run_id, experiment_id = run_info.run_id, run_info.experiment_id
        else:
            experiment_id = client.get_run(run_id).info.experiment_id
        try:
            info = self._log_and_register(
                model,
                feature_spec,
                metrics,
                params or {},
                tags or {},
                (experiment_id, run_id),
                training_window,
            )
        except BaseException:
            if own_run:
                client.set_terminated(run_id, "FAILED")
            raise
        if own_run:
            client.set_terminated(run_id, "FINISHED")
        return info

    def _log_and_register(
        self,
        model: xgboost.XGBClassifier,
        spec: FeatureSpec,
        metrics: Mapping[str, float],
        params: Mapping[str, Any],
        tags: Mapping[str, Any],
        run: tuple[str, str],
        training_window: Mapping[str, Any] | None,
    ) -> ModelVersionInfo:
        # mlflow.xgboost.log_model is fluent: it resolves the *global* tracking URI and active
        # run. Instead we replay what it does (mlflow 3.17 Model.log) with this client only:
        # create a LoggedModel, save_model to a temp dir, upload its artifacts, finalize,
        # register. Public client and save_model APIs only; nothing global is set or restored.
        import mlflow.xgboost
        from mlflow.entities import LoggedModelOutput, LoggedModelStatus, Metric, Param, RunTag
        from mlflow.models import Model
        from mlflow.pyfunc import FLAVOR_NAME as PYFUNC

        from fraud_core import pyfunc_model

        client = self.client
        experiment_id, run_id = run
        str_params = {k: str(v) for k, v in params.items()}
        str_tags = {k: str(v) for k, v in tags.items()}
        logged = client.create_logged_model(
            experiment_id=experiment_id,
            name=MODEL_ARTIFACT_NAME,
            source_run_id=run_id,
            params=str_params,
            tags=str_tags,
            model_type="xgboost",
        )
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
        with TemporaryDirectory() as tmp:
            path = Path(tmp, MODEL_ARTIFACT_NAME)
            mlflow_model = Model(
                artifact_path=logged.artifact_location,
                model_uuid=logged.model_id,
                run_id=run_id,
                model_id=logged.model_id,
            )
            mlflow.xgboost.save_model(
                model,
                str(path),
                mlflow_model=mlflow_model,
                signature=_signature(),
                input_example=pyfunc_model.input_example(),
                conda_env=conda_environment(),
                metadata={"feature_spec_version": spec.version},
            )
            (path / FEATURE_SPEC_FILE).write_text(json.dumps(spec.to_dict(), indent=1))
            # pyfunc: raw transactions in, probabilities out (the xgboost flavour stays for us).
            mlflow_model.flavors[PYFUNC].update(
                loader_module=pyfunc_model.__name__, code=pyfunc_model.bundle_code(path)
            )
            mlflow_model.save(str(path / "MLmodel"))
            client.log_model_artifacts(logged.model_id, str(path))
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)

        now = _now_ms()
        client.log_batch(
            run_id,
            metrics=[
                Metric(k, float(v), now, 0, model_id=logged.model_id) for k, v in metrics.items()
            ],
            params=[Param(k, v) for k, v in str_params.items()],
            tags=[RunTag(k, v) for k, v in str_tags.items()],
        )
        client.log_dict(run_id, spec.to_dict(), FEATURE_SPEC_FILE)

        version_tags = {
            **str_tags,
            **{f"{METRIC_TAG_PREFIX}{k}": repr(float(v)) for k, v in metrics.items()},
            "feature_spec_version": spec.version,
            "run_id": run_id,
        }
        if training_window is not None:
            version_tags["training_window"] = json.dumps(training_window, default=str)
            version_tags["training_window_hash"] = training_window_hash(training_window)
        self._ensure_registered_model()
        mv = client.create_model_version(
            self.model_name,
            # Not `models:/<id>`, and always with run_id: MLflow's SQL registry resolves those
            # with a *global* MlflowClient() (mlflow 3.17 sqlalchemy_store.create_model_version),
            # i.e. the default tracking database, not ours.
            source=logged.artifact_location,
            run_id=run_id,
            tags=version_tags,
            model_id=logged.model_id,
        )
        log.info("registered %s version %s (run %s)", self.model_name, mv.version, run_id)
        return ModelVersionInfo.from_mlflow(mv)

    def _experiment_id(self) -> str:
        from mlflow.exceptions import MlflowException

        client = self.client
        experiment = client.get_experiment_by_name(self.model_name)
        if experiment is not None:
            return experiment.experiment_id
        root = self.artifact_root.rstrip("/")
        if "://" not in root:
            root = Path(root).resolve().as_uri()
        location = f"{root}/{self.model_name}"
        try:
            return client.create_experiment(self.model_name, artifact_location=location)
        except MlflowException as err:  # created concurrently by another process
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return client.get_experiment_by_name(self.model_name).experiment_id

    def _ensure_registered_model(self) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(
                self.model_name, description="Fraud probability of a payment transaction."
            )
        except MlflowException as err:
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise


def _signature():
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType

    from fraud_core.pyfunc_model import INPUT_COLUMNS

    # What the pyfunc flavour takes and gives: raw transactions, fraud probabilities.
    columns = [
        ColSpec(AnyType() if kind == "any" else kind, name, required)
        for name, kind, required in INPUT_COLUMNS
    ]
    return ModelSignature(inputs=Schema(columns), outputs=Schema([ColSpec("double")]))


def conda_environment() -> dict[str, Any]:
    """The logged model's environment in full: this Python and `pip_requirements()`. Given
    explicitly, MLflow neither infers requirements (a subprocess, ~30 s instead of ~2 s) nor
    looks for an installed pip to pin in conda.yaml (absent from uv's environments: it warned
    on every model logged)."""
    import platform

    return {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={platform.python_version()}",
            "pip",
            {"pip": list(pip_requirements())},
        ],
    }


MODEL_IMPORTS = ("mlflow", "xgboost", "sklearn", "numpy", "pandas", "pydantic", "pycountry")
"""What a logged model imports when loaded (either flavour), by import name."""


@lru_cache(maxsize=1)
def pip_requirements() -> tuple[str, ...]:
    """`name==version` of the installed distribution providing each of MODEL_IMPORTS (e.g.
    `xgboost-cpu` for `xgboost`), found in the distributions' RECORD files: the module's own
    name first, then this project's declared dependencies (a full scan only as a last resort)."""
    from importlib.metadata import PackageNotFoundError, distribution, requires

    declared = [re.match(r"[A-Za-z0-9._-]+", r).group(0) for r in requires("fraud-mlops") or ()]
    declared.sort(key=lambda name: not any(m in name for m in MODEL_IMPORTS))
    pins: dict[str, str] = {}
    for name in dict.fromkeys([*MODEL_IMPORTS, *declared]):
        wanted = [m for m in MODEL_IMPORTS if m not in pins]
        if not wanted:
            break
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        record = "\n" + (dist.read_text("RECORD") or "")
        for module in wanted:
            if f"\n{module}/__init__.py," in record:
                pins[module] = f"{dist.name}=={dist.version}"
    for module in (m for m in MODEL_IMPORTS if m not in pins):
        pins[module] = _scan_for(module)
    return tuple(sorted(set(pins.values())))


def _scan_for(module: str) -> str:
    from importlib.metadata import packages_distributions, version

    names = packages_distributions().get(module)
    if not names:
        raise RegistryError(f"no installed distribution provides {module!r}: cannot log a model")
    return f"{names[0]}=={version(names[0])}"
