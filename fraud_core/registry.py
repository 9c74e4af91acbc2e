"""MLflow registry facade: register versions, move deployment aliases, load models for serving.

Aliases are the single source of truth for deployment (docs/architecture.md, section 7):
`champion` serves, `challenger` shadows, `canary` takes `canary_traffic_percent` % of traffic,
`previous` is the rollback target. Every alias move is appended to the store's `audit_log`
before it is applied and recorded on the version as the `last_alias_move` tag.

Moves are serialized by a lock in the store's database (`REGISTRY_LOCK`) and state the versions
they expect to replace (read when the move was planned, or given by the caller): a move planned
on a state that changed before it took the lock is refused (`StaleMove`) and the refusal audited.

Everything goes through one `MlflowClient` built from explicit URIs: no global MLflow state
(no `set_tracking_uri`, no active run), so a Dagster run that also uses dagster-mlflow's fluent
API, or a scorer polling the registry, is never disturbed. mlflow is imported lazily.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from numbers import Integral
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from fraud_core import clock
from fraud_core.features import FEATURE_SPEC, FeatureSpec, FeatureSpecMismatch
from fraud_core.model import LoadedModel
from fraud_core.settings import get_settings

if TYPE_CHECKING:
    import xgboost
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from fraud_core.store import FeedbackStore

log = logging.getLogger(__name__)

CHAMPION, CHALLENGER, CANARY, PREVIOUS = "champion", "challenger", "canary", "previous"
ALIASES = (CHAMPION, CHALLENGER, CANARY, PREVIOUS)
CANARY_TAG = "canary_traffic_percent"
METRIC_TAG_PREFIX = "metric."
FEATURE_SPEC_FILE = "feature_spec.json"
MODEL_ARTIFACT_NAME = "model"
REGISTRY_LOCK = "fraud-registry-moves"


class RegistryError(RuntimeError):
    """A registry operation was refused or cannot be done."""


class UnknownVersion(RegistryError, LookupError):
    """The registered model has no such version."""


class UnknownAlias(RegistryError, ValueError):
    """Not one of the deployment aliases (docs/architecture.md, section 7)."""


class StaleMove(RegistryError):
    """The registry moved since the move was planned: refused (and audited), nothing changed."""


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered version as the platform sees it; `metrics` are parsed from `metric.*` tags."""

    version: str
    run_id: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    created_at: datetime | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        return self.tags.get("rejected") == "true"

    @classmethod
    def from_mlflow(cls, mv: ModelVersion) -> ModelVersionInfo:
        tags = dict(mv.tags or {})
        return cls(
            version=str(mv.version),
            run_id=mv.run_id or None,
            tags=tags,
            aliases=tuple(sorted(mv.aliases or ())),
            created_at=datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC),
            metrics={
                k[len(METRIC_TAG_PREFIX) :]: float(v)
                for k, v in tags.items()
                if k.startswith(METRIC_TAG_PREFIX)
            },
        )


def training_window_hash(window: Mapping[str, Any]) -> str:
    """Stable short hash of the training window (dates, row counts, filters)."""
    payload = json.dumps(window, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_alias(alias: str) -> None:
    if alias not in ALIASES:
        raise UnknownAlias(f"unknown alias {alias!r}; expected one of {', '.join(ALIASES)}")


class ModelRegistry:
    """The `fraud-detector` registered model: log, register, move aliases, load for serving.

    `store` (a FeedbackStore) receives the audit entries; without it the registry is read-only
    for aliases. `artifact_root` defaults to `settings.mlflow_artifact_root`.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        store: FeedbackStore | None = None,
        model_name: str | None = None,
        *,
        artifact_root: str | None = None,
    ) -> None:
        settings = get_settings()
        self.tracking_uri = tracking_uri or settings.mlflow_tracking_uri
        self.model_name = model_name or settings.model_name
        self.artifact_root = artifact_root or settings.mlflow_artifact_root
        self.store = store

    @cached_property
    def client(self) -> MlflowClient:
        from mlflow import MlflowClient

        # registry_uri explicitly too: left None, MLflow would consult the global registry URI.
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    # ---- logging and registering -------------------------------------------------------------

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

    # ---- reading -----------------------------------------------------------------------------

    def get_version(self, version: int | str) -> ModelVersionInfo:
        """The version's info; UnknownVersion if it does not exist."""
        return ModelVersionInfo.from_mlflow(self._model_version(version))

    def list_versions(self) -> list[ModelVersionInfo]:
        """All versions, newest first."""
        found = self.client.search_model_versions(f"name = '{self.model_name}'")
        infos = [ModelVersionInfo.from_mlflow(mv) for mv in found]
        return sorted(infos, key=lambda i: int(i.version), reverse=True)

    def deployment(self) -> tuple[dict[str, str], int]:
        """Alias -> version for every alias set (empty before the first version), and the
        canary's share of traffic (0-100; 0 when no canary is set), from one registry read:
        one consistent state, at half the cost of `aliases()` then `canary_percent()`."""
        from mlflow.exceptions import MlflowException

        try:
            rm = self.client.get_registered_model(self.model_name)
        except MlflowException as err:
            if err.error_code == "RESOURCE_DOES_NOT_EXIST":
                return {}, 0
            raise
        aliases = {alias: str(version) for alias, version in (rm.aliases or {}).items()}
        return aliases, int(rm.tags.get(CANARY_TAG, 0)) if CANARY in aliases else 0

    def aliases(self) -> dict[str, str]:
        """Alias -> version for every alias currently set (empty before the first version)."""
        return self.deployment()[0]

    def version_for(self, alias: str) -> ModelVersionInfo | None:
        """The version holding `alias`, or None when the alias is not set."""
        _check_alias(alias)
        version = self.aliases().get(alias)
        return None if version is None else self.get_version(version)

    def canary_percent(self) -> int:
        """Share of traffic (0-100) routed to the canary; 0 when no canary is set."""
        return self.deployment()[1]

    def is_rejected(self, version: int | str) -> bool:
        return self.get_version(version).rejected

    def _model_version(self, version: int | str) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(self.model_name, str(version))
        except MlflowException as err:
            if err.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise UnknownVersion(f"{self.model_name} has no version {version!r}") from None
            raise

    # ---- tags --------------------------------------------------------------------------------

    def set_version_tags(self, version: int | str, tags: Mapping[str, Any]) -> None:
        """Set (overwrite) tags on an existing version."""
        version = self._model_version(version).version
        for key, value in tags.items():
            self.client.set_model_version_tag(self.model_name, version, key, str(value))

    def audit(
        self, actor: str, action: str, version: int | str, summary: str, details: Mapping[str, Any]
    ) -> None:
        """Append an audit entry about one of this model's versions (gate and shadow verdicts,
        stage figures); needs the store."""
        if self.store is None:
            raise RegistryError(f"{action} on {self._subject(version)} needs a FeedbackStore")
        self.store.append_audit(actor, action, self._subject(version), summary, dict(details))

    # ---- the MLflow run behind a version -----------------------------------------------------

    def record_on_run(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, Any] | None = None,
        artifacts: Mapping[str, str] | None = None,
    ) -> None:
        """Add metrics, tags and files (`{path: artifact folder}`) to an existing MLflow run
        (what a later step learned about the model that run trained)."""
        for name, value in (metrics or {}).items():
            self.client.log_metric(run_id, name, float(value))
        for key, value in (tags or {}).items():
            self.client.set_tag(run_id, key, str(value))
        for path, folder in (artifacts or {}).items():
            self.client.log_artifact(run_id, path, folder)

    def run_experiment(self, run_id: str) -> str:
        """The experiment id of an MLflow run (for links to the MLflow UI)."""
        return self.client.get_run(run_id).info.experiment_id

    def run_params(self, run_id: str) -> dict[str, str]:
        """The parameters an MLflow run logged."""
        return dict(self.client.get_run(run_id).data.params)

    def mark_rejected(
        self, version: int | str, reason: str, *, actor: str = "validation_gate"
    ) -> None:
        """Tag a version `rejected=true` (+ reason) so no alias can be moved onto it.

        Not an alias move, so a store is optional; when present the rejection is audited too.
        """
        self.set_version_tags(version, {"rejected": "true", "rejected_reason": reason})
        if self.store is not None:
            self.store.append_audit(
                actor, "reject", self._subject(version), reason, {"model": self.model_name}
            )

    # ---- alias moves -------------------------------------------------------------------------

    def set_alias(
        self,
        alias: str,
        version: int | str,
        *,
        actor: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> ModelVersionInfo:
        """Point `alias` at `version` (a no-op if it already does)."""
        _check_alias(alias)
        if alias == CANARY:
            raise RegistryError("use set_canary(version, percent, ...) for the canary alias")
        info = self._movable(version)
        holder = self.aliases().get(alias)
        if holder == info.version:
            return info
        self._move(
            "alias.set",
            info,
            [(alias, holder, info.version)],
            actor=actor,
            reason=reason,
            details=details,
        )
        return self.get_version(info.version)

    def clear_alias(self, alias: str, *, actor: str, reason: str) -> str | None:
        """Remove `alias`; returns the version that held it (None: nothing to clear)."""
        _check_alias(alias)
        holder = self.aliases().get(alias)
        if holder is None:
            return None
        info = self.get_version(holder)
        self._move(
            "alias.clear",
            info,
            [(alias, holder, None)],
            actor=actor,
            reason=reason,
            canary_percent=0 if alias == CANARY else None,
        )
        return holder

    def set_canary(
        self, version: int | str, percent: int, *, actor: str, reason: str
    ) -> ModelVersionInfo:
        """Route `percent` (1-100) of traffic to `version` as the canary."""
        if isinstance(percent, bool) or not isinstance(percent, Integral) or not 0 < percent <= 100:
            raise ValueError(f"canary percent must be an integer in 1..100, got {percent!r}")
        percent = int(percent)
        info = self._movable(version)
        holder, current_percent = self.aliases().get(CANARY), self.canary_percent()
        if holder == info.version and current_percent == percent:
            return info
        moves = [] if holder == info.version else [(CANARY, holder, info.version)]
        self._move(
            "canary.set",
            info,
            moves,
            actor=actor,
            reason=reason,
            details={CANARY_TAG: {"from": current_percent, "to": percent}},
            canary_percent=percent,
            expected={CANARY_TAG: str(current_percent)},
        )
        return self.get_version(info.version)

    def promote(
        self,
        version: int | str,
        *,
        actor: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
        expect_champion: str | None = None,
    ) -> ModelVersionInfo:
        """Make `version` the champion; the old champion becomes `previous`.

        `challenger`/`canary` are cleared if they point at `version`. Promoting the current
        champion is a no-op. `expect_champion`: refuse (StaleMove) unless that version is
        still the champion when the move is made.
        """
        info = self._movable(version)
        current = self.aliases()
        champion = current.get(CHAMPION)
        if champion == info.version:
            log.info("version %s is already the champion: nothing to promote", info.version)
            return info
        moves: list[tuple[str, str | None, str | None]] = []
        if champion is not None:
            moves.append((PREVIOUS, current.get(PREVIOUS), champion))
        moves.append((CHAMPION, champion, info.version))
        moves += [
            (a, info.version, None) for a in (CHALLENGER, CANARY) if current.get(a) == info.version
        ]
        self._move(
            "promote",
            info,
            moves,
            actor=actor,
            reason=reason,
            details=details,
            canary_percent=0 if current.get(CANARY) == info.version else None,
            expected=None if expect_champion is None else {CHAMPION: str(expect_champion)},
        )
        return self.get_version(info.version)

    def rollback(self, *, actor: str, reason: str) -> ModelVersionInfo | None:
        """Restore `previous` as champion and clear `previous`; None when there is nothing to do.

        The rolled-back champion keeps no alias (its move is on its `last_alias_move` tag and in
        the audit log): a second rollback is then a no-op rather than a swap back to the model
        that was just judged bad.
        """
        current = self.aliases()
        previous = current.get(PREVIOUS)
        if previous is None:
            log.info("no previous version: nothing to roll back")
            return None
        target = self._movable(previous)
        champion = current.get(CHAMPION)
        subject = self.get_version(champion) if champion else target
        self._move(
            "rollback",
            subject,
            [(CHAMPION, champion, previous), (PREVIOUS, previous, None)],
            actor=actor,
            reason=reason,
            details={"restored_version": previous},
        )
        return self.get_version(previous)

    def _movable(self, version: int | str) -> ModelVersionInfo:
        info = self.get_version(version)
        if info.rejected:
            reason = info.tags.get("rejected_reason", "no reason recorded")
            raise RegistryError(f"{self._subject(info.version)} is rejected ({reason})")
        return info

    def _subject(self, version: int | str) -> str:
        return f"{self.model_name}/{version}"

    def _state(self) -> dict[str, str]:
        """Alias -> version, and the canary share under CANARY_TAG, as the registry says now."""
        aliases, percent = self.deployment()
        return {**aliases, CANARY_TAG: str(percent)}

    def _move(
        self,
        action: str,
        info: ModelVersionInfo,
        moves: list[tuple[str, str | None, str | None]],
        *,
        actor: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
        canary_percent: int | None = None,
        expected: Mapping[str, str | None] | None = None,
    ) -> None:
        """Under the registry lock: check that each move's `from` (and `expected`) still holds,
        audit, then apply the moves (alias, from, to). A stale or failed move is audited too.

        Auditing first means no alias ever moves without an audit entry (the store being down
        blocks the move). On PostgreSQL each entry commits at once; on SQLite, whose lock is
        the write transaction, the entries commit when the lock is released.
        """
        if self.store is None:
            raise RegistryError(
                f"{action} on {self._subject(info.version)} needs a FeedbackStore for the audit"
                " log: construct ModelRegistry(store=...)"
            )
        if not actor or not reason:
            raise ValueError("alias moves need a non-empty actor and reason")
        subject = self._subject(info.version)
        audit_details = {
            **(details or {}),
            "model": self.model_name,
            "version": info.version,
            "moves": [{"alias": a, "from": old, "to": new} for a, old, new in moves],
            "metrics": dict(info.metrics),
        }
        expect = {**{alias: old for alias, old, _new in moves}, **(expected or {})}
        error: Exception | None = None
        with self.store.lock(REGISTRY_LOCK) as held:
            state = self._state()
            stale = {k: (v, state.get(k)) for k, v in expect.items() if state.get(k) != v}
            if stale:
                error = StaleMove(f"{action} of {subject} refused: {_describe(stale)}")
                self.store.append_audit(
                    actor,
                    f"{action}.refused",
                    subject,
                    str(error),
                    {**audit_details, "requested_reason": reason, "stale": _stale_json(stale)},
                    held=held,
                )
            else:
                audit_id = self.store.append_audit(
                    actor, action, subject, reason, audit_details, held=held
                )
                try:
                    self._apply(action, info, moves, audit_id, actor, reason, canary_percent)
                except Exception as err:  # audited, then raised once the lock is released
                    self.store.append_audit(
                        actor,
                        f"{action}.failed",
                        subject,
                        f"{type(err).__name__}: {err}",
                        {"audit_id": audit_id},
                        held=held,
                    )
                    error = err
        if error is not None:
            raise error

    def _apply(
        self,
        action: str,
        info: ModelVersionInfo,
        moves: list[tuple[str, str | None, str | None]],
        audit_id: int,
        actor: str,
        reason: str,
        canary_percent: int | None,
    ) -> None:
        client = self.client
        if canary_percent is not None:
            client.set_registered_model_tag(self.model_name, CANARY_TAG, str(canary_percent))
        for alias, _old, new in moves:
            if new is None:
                client.delete_registered_model_alias(self.model_name, alias)
            else:
                client.set_registered_model_alias(self.model_name, alias, new)
        record = {"audit_id": audit_id, "action": action, "actor": actor, "reason": reason}
        record["at"] = clock.now().isoformat(timespec="seconds")
        touched = {v for _a, old, new in moves for v in (old, new) if v is not None}
        for version in sorted(touched | {info.version}, key=int):
            mine = [
                {"alias": a, "from": old, "to": new}
                for a, old, new in moves
                if version in (old, new)
            ]
            tag = json.dumps({**record, "moves": mine})
            client.set_model_version_tag(self.model_name, version, "last_alias_move", tag)

    # ---- loading for serving -----------------------------------------------------------------

    def load(self, version: int | str) -> LoadedModel:
        """Download and load a version; FeatureSpecMismatch if its spec differs from ours."""
        import mlflow.artifacts
        import mlflow.xgboost

        mv = self._model_version(version)
        uri = self.client.get_model_version_download_uri(self.model_name, mv.version)
        with TemporaryDirectory() as tmp:
            parsed = urlparse(uri)
            if parsed.scheme in ("", "file"):  # local artifact store: read in place, no copy
                local = Path(url2pathname(parsed.path))
            else:
                local = Path(
                    mlflow.artifacts.download_artifacts(
                        artifact_uri=uri,
                        dst_path=tmp,
                        tracking_uri=self.tracking_uri,
                        registry_uri=self.tracking_uri,
                    )
                )
            spec_file = local / FEATURE_SPEC_FILE
            if not spec_file.exists():
                raise FeatureSpecMismatch(
                    f"{self._subject(mv.version)} has no {FEATURE_SPEC_FILE}: cannot check it"
                )
            saved = json.loads(spec_file.read_text())
            FEATURE_SPEC.check_compatible(saved)
            model = mlflow.xgboost.load_model(str(local))
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        # One OpenMP thread: the scorer predicts single rows from many request threads, and with
        # the default (all cores) a row costs ~15 ms instead of ~0.4 ms on a busy 2-core host.
        booster.set_param({"nthread": 1})
        objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
        if objective != "binary:logistic":
            raise RegistryError(
                f"{self._subject(mv.version)} has objective {objective!r}; the scorer needs"
                " binary:logistic probabilities"
            )
        return LoadedModel(
            version=str(mv.version),
            run_id=mv.run_id or None,
            feature_spec=FeatureSpec.from_dict(saved),
            booster=booster,
        )

    def load_alias(self, alias: str) -> LoadedModel | None:
        """Load the version holding `alias`; None when the alias is not set."""
        _check_alias(alias)
        version = self.aliases().get(alias)
        return None if version is None else self.load(version)


def _describe(stale: Mapping[str, tuple[str | None, str | None]]) -> str:
    parts = []
    for key, (wanted, found) in stale.items():
        if key == CANARY_TAG:
            parts.append(f"canary share is {found}%, expected {wanted}%")
        else:
            parts.append(f"{key} is {found or 'unset'}, expected {wanted or 'unset'}")
    return "; ".join(parts) + " (the registry moved since this move was planned: re-read, retry)"


def _stale_json(stale: Mapping[str, tuple[str | None, str | None]]) -> dict[str, Any]:
    return {key: {"expected": wanted, "found": found} for key, (wanted, found) in stale.items()}


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
