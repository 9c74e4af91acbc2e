"""Threshold policy: static default, greedy choice over the latest arms."""

import pytest

from fraud_core.policy import DEFAULT_THRESHOLD, STATIC_VERSION, ThresholdPolicy


def arm(segment: str, threshold: float, alpha: float, beta: float, version: str = "p1") -> dict:
    return {
        "policy_version": version,
        "segment": segment,
        "threshold": threshold,
        "alpha": alpha,
        "beta": beta,
    }


class FakeStore:
    def __init__(self, arms: list[dict]) -> None:
        self.arms = arms

    def load_policy_arms(self) -> list[dict]:
        return self.arms


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


def test_mixed_versions_refused() -> None:
    with pytest.raises(ValueError, match="one policy version"):
        ThresholdPolicy.from_store(FakeStore([arm("a", 0.5, 1, 1), arm("a", 0.5, 1, 1, "p2")]))
