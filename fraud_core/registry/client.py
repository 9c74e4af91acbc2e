"""The registry's connection: one `MlflowClient` built from explicit URIs (no global MLflow
state), the registered model's name, and the store that receives audit entries."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from fraud_core.settings import get_settings

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from fraud_core.store import FeedbackStore


class RegistryClient:
    """The `fraud-detector` registered model on one tracking server.

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

    def _subject(self, version: int | str) -> str:
        return f"{self.model_name}/{version}"
