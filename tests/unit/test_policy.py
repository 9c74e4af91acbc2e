"""Threshold policy: static default, greedy choice over the latest arms, on a hierarchy of
segments where children borrow from their parents."""

import pytest

from fraud_core.policy import (
    DEFAULT_THRESHOLD,
    PRIOR_STRENGTH,
    ROOT,
    STATIC_VERSION,
    ThresholdPolicy,
    ancestry,
    posteriors,
    top_level,
)


def arm(segment: str, threshold: float, alpha: float, beta: float, version: str = "p1") -> dict:
    return {
        "policy_version": version,
        "segment": segment,
        "threshold": threshold,
        "alpha": alpha,
        "beta": beta,
    }


class FakeStore:
    def __init__(self, arms: list[dict], models: dict[str, str] | None = None) -> None:
        self.arms, self.models = arms, models or {}

    def load_policy_arms(self) -> list[dict]:
        return self.arms

    def audit_entries(self, subject: str, action: str, limit: int) -> list[dict]:
        version = subject.removeprefix("policy/")
        model = self.models.get(version)
        return (
            [{"details": {"model_version": model}}] if model and action == "policy.update" else []
        )


def test_static_default() -> None:
    policy = ThresholdPolicy()
    assert policy.threshold("small|new") == DEFAULT_THRESHOLD
    assert policy.version == STATIC_VERSION
    assert ThresholdPolicy.from_store(FakeStore([])) == policy


def test_best_posterior_mean_per_segment() -> None:
    arms = [
        arm("small|new", 0.3, 2, 8),
        arm("small|new", 0.6, 9, 1),
        arm("large|established", 0.4, 5, 5),
        arm("large|established", 0.7, 5, 5),  # tie: the higher (more lenient) threshold
    ]
    policy = ThresholdPolicy.from_store(FakeStore(arms))
    assert policy.version == "p1"
    assert policy.threshold("small|new") == 0.6
    assert policy.threshold("large|established") == 0.7
    assert policy.threshold("medium|new") == DEFAULT_THRESHOLD


def test_a_policy_belongs_to_the_model_it_was_learned_for() -> None:
    arms = [arm("small|new", 0.3, 9, 1)]
    policy = ThresholdPolicy.from_store(FakeStore(arms, {"p1": "4"}))
    assert policy.model_version == "4"
    assert policy.applied_to("4") is policy and policy.applied_to("4").threshold("small|new") == 0.3
    other = policy.applied_to("5")
    assert other.version == STATIC_VERSION and other.threshold("small|new") == DEFAULT_THRESHOLD
    unrecorded = ThresholdPolicy.from_store(FakeStore(arms))  # no audit entry: any model
    assert unrecorded.model_version is None and unrecorded.applied_to("5") is unrecorded


def test_mixed_versions_refused() -> None:
    with pytest.raises(ValueError, match="one policy version"):
        ThresholdPolicy.from_store(FakeStore([arm("a", 0.5, 1, 1), arm("a", 0.5, 1, 1, "p2")]))


def test_ancestry_of_a_segment_path() -> None:
    assert ancestry("medium|new/digital_wallet") == (
        "medium|new/digital_wallet",
        "medium|new",
        ROOT,
    )
    assert ancestry("medium|new") == ("medium|new", ROOT)
    assert ancestry(ROOT) == (ROOT,)
    assert top_level("medium|new/card") == "medium|new" and top_level(ROOT) == ROOT


def test_segment_without_arms_gets_its_nearest_ancestors_threshold() -> None:
    arms = [arm(ROOT, 0.6, 9, 1), arm("medium|new", 0.8, 9, 1)]
    policy = ThresholdPolicy.from_arms("p1", arms)
    assert policy.threshold("medium|new/digital_wallet") == 0.8
    assert policy.threshold("medium|new") == 0.8
    assert policy.threshold("small|new/card") == 0.6
    assert ThresholdPolicy.from_arms("p1", arms[1:]).threshold("small|new/card") == 0.5


def test_child_posterior_borrows_its_parents_shrunk_by_evidence() -> None:
    parent = [arm("medium|new", 0.6, 901, 101), arm("medium|new", 0.9, 101, 901)]
    # a child with a little evidence for 0.9 follows its parent (0.6) ...
    weak = [arm("medium|new/card", 0.6, 3, 5), arm("medium|new/card", 0.9, 5, 3)]
    served = posteriors(parent + weak)["medium|new/card"]
    strength, mean = PRIOR_STRENGTH, 901 / 1002  # the parent has 1,000 rows of evidence: capped
    assert served[0.6] == pytest.approx((3 + strength * mean, 5 + strength * (1 - mean)))
    assert ThresholdPolicy.from_arms("p", parent + weak).threshold("medium|new/card") == 0.6
    # ... one with plenty of its own evidence keeps its own choice
    strong = [arm("medium|new/card", 0.6, 301, 2001), arm("medium|new/card", 0.9, 2001, 301)]
    assert ThresholdPolicy.from_arms("p", parent + strong).threshold("medium|new/card") == 0.9
    # the stored arms of the parent are not changed by their children
    assert posteriors(parent + strong)["medium|new"] == {0.6: (901.0, 101.0), 0.9: (101.0, 901.0)}
    # a threshold the parent has no arm for borrows from the next ancestor, or nothing
    lone = [arm("medium|new/card", 0.75, 4, 4)]
    assert posteriors(parent + lone)["medium|new/card"] == {0.75: (4.0, 4.0)}
