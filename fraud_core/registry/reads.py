"""Reading the registry: versions, the release state (aliases and the canary's share), and the
MLflow run behind a version."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fraud_core.registry.client import RegistryClient
from fraud_core.registry.names import (
    CANARY,
    CANARY_TAG,
    ModelVersionInfo,
    UnknownVersion,
    check_alias,
)

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion


class RegistryReads(RegistryClient):
    """Reads of versions, aliases and runs."""

    def get_version(self, version: int | str) -> ModelVersionInfo:
        """The version's info; UnknownVersion if it does not exist."""
        return ModelVersionInfo.from_mlflow(self._model_version(version))

    def release_state(self) -> tuple[dict[str, str], int]:
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
        return self.release_state()[0]

    def version_for(self, alias: str) -> ModelVersionInfo | None:
        """The version holding `alias`, or None when the alias is not set."""
        check_alias(alias)
        version = self.aliases().get(alias)
        return None if version is None else self.get_version(version)

    def canary_percent(self) -> int:
        """Share of traffic (0-100) routed to the canary; 0 when no canary is set."""
        return self.release_state()[1]

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

    def run_experiment(self, run_id: str) -> str:
        """The experiment id of an MLflow run (for links to the MLflow UI)."""
        return self.client.get_run(run_id).info.experiment_id

    def run_params(self, run_id: str) -> dict[str, str]:
        """The parameters an MLflow run logged."""
        return dict(self.client.get_run(run_id).data.params)
