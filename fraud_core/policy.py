"""Decision thresholds per segment, on a hierarchy of segments.

A segment is a path from broad to narrow (`features.threshold_segment`): `medium|new/card` sits
under `medium|new` (amount band x tenure), which sits under the root `all`; the key string
carries the hierarchy (`ancestry`). Until a policy has been learned every segment gets the
static 0.5 of the original system. A learned policy is read from the store's `policy_arms`
(latest `policy_version`): each segment's arms hold the Beta evidence of its own rows; the
segment's posterior borrows from its parent's (`posteriors`: the parent's posterior mean at the
same threshold as a prior worth at most `PRIOR_STRENGTH` rows, so a small segment follows its
parent and a large one its own data). A segment's threshold is its arm with the best posterior
mean; a segment without arms gets its nearest ancestor's threshold, and 0.5 if none has arms.
A policy belongs to the model it was learned for (`model_version`): each served model is decided
at its own latest policy (`served_policies`), and a model without one at the static 0.5.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_THRESHOLD = 0.5
STATIC_VERSION = "static-0.5"
ROOT = "all"
"""The segment of every transaction: the policy's global fallback."""
LEVEL_SEPARATOR = "/"
PRIOR_STRENGTH = 300.0
"""Most evidence (in labelled rows) a parent's posterior lends a child as its prior."""

Posterior = tuple[float, float]


def arm_field(arm: Any, name: str) -> Any:
    """`name` of a policy arm given as a store row (attributes) or a mapping."""
    return arm[name] if isinstance(arm, Mapping) else getattr(arm, name)


def ancestry(segment: str) -> tuple[str, ...]:
    """`segment`, its parent, ..., the root: `medium|new/card` -> (itself, `medium|new`, `all`)."""
    if segment == ROOT:
        return (ROOT,)
    parts = segment.split(LEVEL_SEPARATOR)
    return (*(LEVEL_SEPARATOR.join(parts[:k]) for k in range(len(parts), 0, -1)), ROOT)


def top_level(segment: str) -> str:
    """The root's child that `segment` lies under (the root itself for the root)."""
    chain = ancestry(segment)
    return chain[-2] if len(chain) > 1 else ROOT


def posteriors(arms: Iterable[Any]) -> dict[str, dict[float, Posterior]]:
    """Per segment and threshold, the Beta posterior served: the arm's own (alpha, beta) plus
    its nearest ancestor's posterior at the same threshold, scaled to at most `PRIOR_STRENGTH`
    rows of evidence (an ancestor without that threshold lends nothing)."""
    own: dict[str, dict[float, Posterior]] = {}
    for arm in arms:
        threshold = round(float(arm_field(arm, "threshold")), 6)
        own.setdefault(str(arm_field(arm, "segment")), {})[threshold] = (
            float(arm_field(arm, "alpha")),
            float(arm_field(arm, "beta")),
        )
    served: dict[str, dict[float, Posterior]] = {}
    for segment in sorted(own, key=lambda s: (len(ancestry(s)), s)):  # parents first
        served[segment] = {}
        for threshold, (alpha, beta) in own[segment].items():
            lenders = (served[a] for a in ancestry(segment)[1:] if a in served)
            prior = next((arms[threshold] for arms in lenders if threshold in arms), None)
            if prior is not None:
                strength = min(PRIOR_STRENGTH, max(0.0, sum(prior) - 2.0))
                mean = prior[0] / sum(prior)
                alpha, beta = alpha + strength * mean, beta + strength * (1.0 - mean)
            served[segment][threshold] = (alpha, beta)
    return served


def mean(posterior: Posterior) -> float:
    alpha, beta = posterior
    return alpha / (alpha + beta) if alpha + beta > 0 else 0.0


@dataclass(frozen=True)
class ThresholdPolicy:
    """Segment -> threshold, with a version recorded on every decision it makes.

    `thresholds` holds the segments with arms; `threshold(segment)` answers for any segment
    path, from the segment itself or its nearest ancestor in `thresholds`."""

    version: str = STATIC_VERSION
    thresholds: Mapping[str, float] = field(default_factory=dict)
    default: float = DEFAULT_THRESHOLD
    model_version: str | None = None
    """The model whose scores the thresholds were cut on (None: the static policy)."""

    def threshold(self, segment: str) -> float:
        for node in ancestry(segment):
            if node in self.thresholds:
                return self.thresholds[node]
        return self.default

    @classmethod
    def from_arms(cls, version: str, arms: Iterable[Any]) -> ThresholdPolicy:
        """The greedy policy of one version's arms (rows or mappings with segment, threshold,
        alpha, beta): per segment, the best served posterior mean (`posteriors`), ties to the
        higher threshold."""
        chosen = {
            segment: max(by_threshold, key=lambda t: (mean(by_threshold[t]), t))
            for segment, by_threshold in posteriors(arms).items()
        }
        return cls(version=version, thresholds=chosen)

    @classmethod
    def from_store(cls, store: Any, model_version: str) -> ThresholdPolicy:
        """The latest policy version learned for `model_version`, or the static policy when
        that model has none."""
        return cls.of_model(model_version, store.load_policy_arms(model_version=model_version))

    @classmethod
    def of_model(cls, model_version: str, arms: Iterable[Any]) -> ThresholdPolicy:
        """The policy of one stored version's arms, learned for `model_version` (no arms: the
        static policy)."""
        arms = list(arms)
        if not arms:
            return cls()
        versions = {str(arm_field(arm, "policy_version")) for arm in arms}
        if len(versions) != 1:
            raise ValueError(f"expected arms of one policy version, got {sorted(versions)}")
        return replace(cls.from_arms(versions.pop(), arms), model_version=model_version)


STATIC_POLICY = ThresholdPolicy()


def served_policies(store: Any, model_versions: Iterable[str]) -> dict[str, ThresholdPolicy]:
    """Each model version's own latest policy (`ThresholdPolicy.from_store`)."""
    return {v: ThresholdPolicy.from_store(store, v) for v in dict.fromkeys(model_versions)}
