"""Decision thresholds per segment.

A `ThresholdPolicy` maps a segment (`features.threshold_segment`: amount band x tenure) to the
score at or above which a transaction is blocked. Until a policy has been learned it is the
static 0.5 of the original system. A learned policy is read from the store's `policy_arms`
(latest `policy_version`): per segment, the threshold arm with the best posterior mean
(alpha / (alpha + beta)); segments without arms keep the default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_THRESHOLD = 0.5
STATIC_VERSION = "static-0.5"


def arm_field(arm: Any, name: str) -> Any:
    """`name` of a policy arm given as a store row (attributes) or a mapping."""
    return arm[name] if isinstance(arm, Mapping) else getattr(arm, name)


@dataclass(frozen=True)
class ThresholdPolicy:
    """Segment -> threshold, with a version recorded on every decision it makes."""

    version: str = STATIC_VERSION
    thresholds: Mapping[str, float] = field(default_factory=dict)
    default: float = DEFAULT_THRESHOLD

    def threshold(self, segment: str) -> float:
        return self.thresholds.get(segment, self.default)

    @classmethod
    def from_arms(cls, version: str, arms: Iterable[Any]) -> ThresholdPolicy:
        """The greedy policy of one version's arms (rows or mappings with segment, threshold,
        alpha, beta): the best posterior mean per segment, ties to the higher threshold."""
        best: dict[str, tuple[float, float]] = {}
        for arm in arms:
            alpha, beta = float(arm_field(arm, "alpha")), float(arm_field(arm, "beta"))
            mean = alpha / (alpha + beta) if alpha + beta > 0 else 0.0
            key = (mean, float(arm_field(arm, "threshold")))
            segment = str(arm_field(arm, "segment"))
            if segment not in best or key > best[segment]:
                best[segment] = key
        return cls(version=version, thresholds={s: t for s, (_, t) in best.items()})

    @classmethod
    def from_store(cls, store: Any) -> ThresholdPolicy:
        """The latest policy version in the store, or the static policy when there is none."""
        arms = list(store.load_policy_arms())
        if not arms:
            return cls()
        versions = {str(arm_field(arm, "policy_version")) for arm in arms}
        if len(versions) != 1:
            raise ValueError(f"expected arms of one policy version, got {sorted(versions)}")
        return cls.from_arms(versions.pop(), arms)
