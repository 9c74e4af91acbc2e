"""Release moves on the registry: shadow, canary stages, promotion, rollback.

Shared by the Dagster release assets/jobs and the `fraudops` commands. Every move goes
through `ModelRegistry` (audited alias moves); the stage is also written on the version as the
`release_stage` / `release_stage_started_at` tags, and stage figures as `release.*` audit
entries. Each function is idempotent: repeating it changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fraud_core import clock
from fraud_core.registry import CANARY, CHALLENGER, CHAMPION, PREVIOUS, RegistryError
from fraud_core.release import (
    ROLLED_BACK,
    SHADOW,
    STAGE_STARTED_TAG,
    STAGE_TAG,
    canary_stage,
)

if TYPE_CHECKING:
    from fraud_core.registry import ModelRegistry


def _now() -> str:
    return clock.now().isoformat(timespec="milliseconds")


def stage_started(registry: ModelRegistry, version: str) -> datetime:
    """When `version` entered its current stage (its creation time if never staged)."""
    info = registry.get_version(version)
    started = info.tags.get(STAGE_STARTED_TAG)
    return datetime.fromisoformat(started) if started else info.created_at


def candidate(registry: ModelRegistry) -> str | None:
    """The version being released: the canary, else the challenger."""
    aliases = registry.aliases()
    return aliases.get(CANARY) or aliases.get(CHALLENGER)


def start_shadow(registry: ModelRegistry, version: str, *, actor: str, reason: str) -> None:
    """`version` becomes the challenger; the scorer shadows it from its next poll. The shadow
    stage (and its start time) is written on the version even if the alias was already set."""
    if registry.aliases().get(CHALLENGER) != version:
        registry.set_alias(CHALLENGER, version, actor=actor, reason=reason)
    if registry.get_version(version).tags.get(STAGE_TAG) != SHADOW:
        registry.set_version_tags(version, {STAGE_TAG: SHADOW, STAGE_STARTED_TAG: _now()})


def set_stage(
    registry: ModelRegistry,
    version: str,
    percent: int,
    *,
    actor: str,
    reason: str,
    figures: Mapping[str, Any] | None = None,
) -> bool:
    """Serve `version` to `percent` % of customers; False if it already does."""
    aliases = registry.aliases()
    if aliases.get(CANARY) == version and registry.canary_percent() == percent:
        return False
    registry.set_canary(version, percent, actor=actor, reason=reason)
    tags = {STAGE_TAG: canary_stage(percent), STAGE_STARTED_TAG: _now()}
    registry.set_version_tags(version, tags)
    if aliases.get(CHALLENGER) == version:  # served now: no need to shadow it as well
        registry.clear_alias(CHALLENGER, actor=actor, reason=f"{version} moved to canary")
    registry.store.append_audit(
        actor,
        "release.stage",
        f"{registry.model_name}/{version}",
        reason,
        {"version": version, "percent": percent, "figures": dict(figures or {})},
    )
    return True


def stage_history(registry: ModelRegistry, version: str) -> list[dict[str, Any]]:
    """The `release.stage` audit entries of `version`, oldest first."""
    entries = registry.store.audit_entries(
        subject=f"{registry.model_name}/{version}", action="release.stage", limit=1000
    )
    return [
        {"at": e["at"].isoformat(), "reason": e["reason"], **e["details"]}
        for e in reversed(entries)
    ]


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback did: the candidate pulled (if any), the champion restored (if any)."""

    rolled_back: str | None
    restored: str | None

    @property
    def changed(self) -> bool:
        return bool(self.rolled_back or self.restored)


def rollback(
    registry: ModelRegistry,
    *,
    actor: str,
    reason: str,
    figures: Mapping[str, Any] | None = None,
    expected_version: str | None = None,
    restore_previous: bool = False,
) -> RollbackResult:
    """Pull the candidate (canary share to 0, canary and challenger cleared, version marked
    rejected); with `restore_previous`, also give `champion` back to `previous` and reject
    the demoted champion. `expected_version`: act only if the candidate is still that version
    (a sensor's request arriving late must not pull a newer candidate)."""
    pulled = candidate(registry)
    if expected_version is not None and pulled not in (None, expected_version):
        raise RegistryError(
            f"the candidate is now {pulled}, not {expected_version}: not rolling it back"
        )
    if pulled is not None:
        aliases = registry.aliases()
        for alias in (CANARY, CHALLENGER):
            if aliases.get(alias) == pulled:
                registry.clear_alias(alias, actor=actor, reason=reason)
        _reject(registry, pulled, actor=actor, reason=reason, figures=figures)
    restored = demoted = None
    if restore_previous and registry.aliases().get(PREVIOUS):
        demoted = registry.aliases().get(CHAMPION)
        info = registry.rollback(actor=actor, reason=reason)
        restored = info.version if info else None
        if demoted:
            _reject(registry, demoted, actor=actor, reason=reason, figures=figures)
        if restored:
            registry.set_version_tags(restored, {STAGE_TAG: CHAMPION, STAGE_STARTED_TAG: _now()})
    return RollbackResult(pulled or (demoted if restored else None), restored)


def _reject(
    registry: ModelRegistry,
    version: str,
    *,
    actor: str,
    reason: str,
    figures: Mapping[str, Any] | None,
) -> None:
    registry.set_version_tags(version, {STAGE_TAG: ROLLED_BACK, STAGE_STARTED_TAG: _now()})
    if not registry.is_rejected(version):
        registry.mark_rejected(version, f"rolled back: {reason}", actor=actor)
    registry.store.append_audit(
        actor,
        "release.rollback",
        f"{registry.model_name}/{version}",
        reason,
        {"version": version, "figures": dict(figures or {})},
    )


def promote(
    registry: ModelRegistry,
    version: str,
    *,
    actor: str,
    reason: str,
    details: Mapping[str, Any] | None = None,
    expect_champion: str | None = None,
) -> dict[str, Any] | None:
    """Make `version` champion (old one `previous`, canary/challenger cleared) with every
    stage's figures in the audit record; None if it already is champion. `expect_champion`:
    refused (StaleMove, audited) unless that version is the champion when the move is made."""
    if registry.aliases().get(CHAMPION) == version:
        return None
    stages = stage_history(registry, version)
    everything = {**(details or {}), "stages": stages}
    registry.promote(
        version, actor=actor, reason=reason, details=everything, expect_champion=expect_champion
    )
    registry.set_version_tags(version, {STAGE_TAG: CHAMPION, STAGE_STARTED_TAG: _now()})
    return {"stages": stages, "aliases": registry.aliases()}
