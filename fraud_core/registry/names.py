"""What the registry's callers name: the deployment aliases, the tags the platform reads, the
errors, and a registered version as the platform sees it (`ModelVersionInfo`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

CHAMPION, CHALLENGER, CANARY, PREVIOUS = "champion", "challenger", "canary", "previous"
ALIASES = (CHAMPION, CHALLENGER, CANARY, PREVIOUS)
CANARY_TAG = "canary_traffic_percent"
METRIC_TAG_PREFIX = "metric."
FEATURE_SPEC_FILE = "feature_spec.json"


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


def check_alias(alias: str) -> None:
    """UnknownAlias unless `alias` is one of ALIASES."""
    if alias not in ALIASES:
        raise UnknownAlias(f"unknown alias {alias!r}; expected one of {', '.join(ALIASES)}")
