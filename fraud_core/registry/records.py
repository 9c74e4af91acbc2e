"""What the platform writes about a version besides alias moves: tags, rejection, audit
entries, and what later steps learned, added to the MLflow run that trained it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fraud_core.registry.names import RegistryError
from fraud_core.registry.reads import RegistryReads


class VersionRecords(RegistryReads):
    """Tags, rejections and audit entries about versions; additions to their runs."""

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
