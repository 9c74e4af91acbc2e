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
    served_policies,
    top_level,
)


def arm(
    segment: str,
    threshold: float,
    alpha: float,
    beta: float,
    version: str = "p1",
    model: str = "1",
) -> dict:
    return {
        "policy_version": version,
        "model_version": model,
        "segment": segment,
        "threshold": threshold,
        "alpha": alpha,
        "beta": beta,
    }


class FakeStore:
    """`load_policy_arms(model_version=...)` over arms listed oldest version first."""

    def __init__(self, arms: list[dict]) -> None:
        self.arms = arms

    def load_policy_arms(self, *, model_version: str) -> list[dict]:
        own = [a for a in self.arms if a["model_version"] == model_version]
        latest = own[-1]["policy_version"] if own else None
        return [a for a in own if a["policy_version"] == latest]


def test_static_default() -> None:
    policy = ThresholdPolicy()
    assert policy.threshold("small|new") == DEFAULT_THRESHOLD
    assert policy.version == STATIC_VERSION
    assert ThresholdPolicy.from_store(FakeStore([]), "1") == policy


def test_best_posterior_mean_per_segment() -> None:
    arms = [
        arm("small|new", 0.3, 2, 8),
        arm("small|new", 0.6, 9, 1),
        arm("large|established", 0.4, 5, 5),
        arm("large|established", 0.7, 5, 5),  # tie: the higher (more lenient) threshold
    ]
    policy = ThresholdPolicy.from_store(FakeStore(arms), "1")
    assert policy.version == "p1"
    assert policy.threshold("small|new") == 0.6
    assert policy.threshold("large|established") == 0.7
    assert policy.threshold("medium|new") == DEFAULT_THRESHOLD


def test_each_model_is_served_its_own_latest_policy() -> None:
    arms = [
        arm("small|new", 0.3, 9, 1, version="p1", model="4"),
        arm("small|new", 0.7, 9, 1, version="p2", model="5"),
        arm("small|new", 0.4, 9, 1, version="p3", model="4"),
    ]
    served = served_policies(FakeStore(arms), ["4", "5", "6", "4"])
    assert list(served) == ["4", "5", "6"]
    assert (served["4"].version, served["4"].model_version) == ("p3", "4")
    assert served["4"].threshold("small|new") == 0.4
    assert served["5"].threshold("small|new") == 0.7
    assert served["6"].version == STATIC_VERSION and served["6"].model_version is None
    assert served["6"].threshold("small|new") == DEFAULT_THRESHOLD


def test_mixed_versions_refused() -> None:
    class MixedStore(FakeStore):
        def load_policy_arms(self, *, model_version: str) -> list[dict]:
            return self.arms

    with pytest.raises(ValueError, match="one policy version"):
        ThresholdPolicy.from_store(
            MixedStore([arm("a", 0.5, 1, 1), arm("a", 0.5, 1, 1, "p2")]), "1"
        )


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
