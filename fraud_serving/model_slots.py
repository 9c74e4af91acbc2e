"""What the scorer serves (`Slots`), and the poller that keeps it in step with the registry.

`Slots` is immutable: the poller builds a complete new one (models loaded, feature specs
checked, each model's policy read) and hands it over in one reference assignment, so a request
sees either the old set or the new set, never half of each. When the registry is unreachable,
or a new version fails to load, the last good champion keeps serving; the failure shows in
`fraud_registry_up`, `fraud_model_load_failures_total` and in `/model`. A canary or challenger
(shadow) version that fails to load is dropped (its traffic goes to the champion) rather than
kept.
Every failed read (registry, policy, monitoring figures) counts in
`fraud_scorer_read_failures_total{source}` and is logged once per cause, and when it recovers.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from fraud_core.model import LoadedModel
from fraud_core.policy import STATIC_POLICY, ThresholdPolicy, served_policies
from fraud_core.registry.names import CANARY, CHALLENGER, CHAMPION
from fraud_serving import metrics
from fraud_serving.failures import FailureLog

log = logging.getLogger(__name__)

SLOTS = (CHAMPION, CANARY, CHALLENGER)
"""Each slot holds the version of the registry alias of its name; the challenger is scored in
shadow."""


@dataclass(frozen=True)
class Slots:
    """One consistent set of models and thresholds."""

    champion: LoadedModel | None = None
    canary: LoadedModel | None = None
    canary_percent: int = 0
    challenger: LoadedModel | None = None
    policies: Mapping[str, ThresholdPolicy] | None = None
    """Each served model version's own thresholds (None: not read yet)."""

    @property
    def ready(self) -> bool:
        return self.champion is not None and self.policies is not None

    def policy(self, model: LoadedModel) -> ThresholdPolicy:
        """The thresholds `model` is decided at: its own, else the static 0.5."""
        return (self.policies or {}).get(model.version, STATIC_POLICY)

    @property
    def stage(self) -> str:
        """Release stage as served: canary N%, shadow, or stable."""
        if self.canary is not None and self.canary_percent > 0:
            return f"canary {self.canary_percent}%"
        if self.challenger is not None:
            return "shadow"
        return "stable" if self.champion is not None else "no model"

    def describe(self) -> str:
        def version(model: LoadedModel | None) -> str | None:
            return model and model.version

        return (
            f"champion={version(self.champion)} canary={version(self.canary)}"
            f"@{self.canary_percent}% challenger={version(self.challenger)}"
            f" policies={self.policy_versions()}"
        )

    def policy_versions(self) -> dict[str, str]:
        """Model version -> the policy version it is decided at."""
        return {v: self.policy(m).version for v, m in self.models().items()}

    def models(self) -> dict[str, LoadedModel]:
        served = (self.champion, self.canary, self.challenger)
        return {m.version: m for m in served if m is not None}


@dataclass
class FollowerStatus:
    """What the last polls found, for `/model`."""

    aliases: dict[str, str] = field(default_factory=dict)
    registry_error: str | None = None
    store_error: str | None = None
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None


class RegistryFollower:
    """Polls the registry (aliases, canary share) and the store (policy, monitoring) and
    replaces `target.slots` (the Scorer's) when something changed."""

    def __init__(self, target: Any, registry: Any, store: Any, poll_seconds: float) -> None:
        self.target = target
        self.registry = registry
        self.store = store
        self.poll_seconds = poll_seconds
        self.status = FollowerStatus()
        self._failures = FailureLog(log)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registry-follower", daemon=True)

    def start(self) -> RegistryFollower:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.poll_once()
            except Exception:  # never let the poller die: the next poll retries
                log.exception("registry poll failed")
            self._stop.wait(max(0.0, self.poll_seconds - (time.monotonic() - started)))

    def poll_once(self) -> Slots:
        """One poll: read aliases, load what changed, read each served model's policy, publish
        if changed."""
        current = self.target.slots
        registry_errors: list[str] = []
        new = replace(current, **self._follow_registry(current, registry_errors))
        store_errors: list[str] = []
        try:
            new = replace(new, policies=served_policies(self.store, new.models()))
            self._read_ok("policy")
        except Exception as error:
            store_errors.append(f"policy: {self._read_failed('policy', error)}")
        try:
            metrics.export_monitoring(self.store.latest_metrics().to_dict("records"))
            self._read_ok("monitoring")
        except Exception as error:
            store_errors.append(f"monitoring: {self._read_failed('monitoring', error)}")
        if new != current:
            for slot in SLOTS:
                model = getattr(new, slot)
                if model is not None:
                    metrics.create_model_series(slot, model.version)
            self.target.slots = new  # one reference assignment: the atomic swap
            log.info("serving %s (was %s)", new.describe(), current.describe())
            # Libraries and models are loaded by now: move them out of the collector's reach.
            # A full collection over them takes ~180 ms in a scorer process (MLflow, pandas,
            # SQLAlchemy, BentoML) and showed up as 250-600 ms p99 spikes.
            gc.freeze()
        served = new.canary_percent if new.canary is not None else 0
        metrics.CANARY_PERCENT.set(served)
        now = datetime.now(UTC)
        self.status.last_poll_at = now
        self.status.registry_error = "; ".join(registry_errors) or None
        self.status.store_error = "; ".join(store_errors) or None
        if not registry_errors and not store_errors:
            self.status.last_success_at = now
        return new

    def _follow_registry(self, current: Slots, errors: list[str]) -> dict[str, Any]:
        try:
            aliases, percent = self.registry.release_state()
        except Exception as error:
            metrics.REGISTRY_UP.set(0)
            errors.append(f"registry unreachable: {self._read_failed('registry', error)}")
            return {}
        metrics.REGISTRY_UP.set(1)
        self._read_ok("registry")
        self.status.aliases = dict(aliases)
        loaded = current.models()
        changes: dict[str, Any] = {"canary_percent": max(0, min(100, percent))}
        for slot in SLOTS:
            version = aliases.get(slot)
            have = getattr(current, slot)
            if version is None:
                if slot == "champion":
                    kept = ": keeping the served champion" if have is not None else ""
                    errors.append(f"the champion alias is not set{kept}")
                    continue
                changes[slot] = None
            elif have is None or have.version != version:
                model = loaded.get(version) or self._load(version, slot, errors)
                if model is not None:
                    loaded[version] = model
                    changes[slot] = model
                elif slot != "champion":
                    changes[slot] = None
        return changes

    def _read_failed(self, source: str, error: Exception) -> str:
        """Count and log (once per cause) a failed read; its text for `/model`."""
        metrics.READ_FAILURES.labels(source).inc()
        self._failures.failed(f"reading the {source}", error)
        return f"{type(error).__name__}: {error}"

    def _read_ok(self, source: str) -> None:
        self._failures.recovered(f"reading the {source}")

    def _load(self, version: str, alias: str, errors: list[str]) -> LoadedModel | None:
        try:
            model = self.registry.load(version)
        except Exception as error:
            metrics.MODEL_LOAD_FAILURES.inc()
            errors.append(f"loading version {version} ({alias}): {type(error).__name__}: {error}")
            log.warning("cannot load version %s for %s: %s", version, alias, error)
            return None
        log.info("loaded model version %s for %s", version, alias)
        return model
