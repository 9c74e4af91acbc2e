"""The registry follower: loads what the aliases name, swaps whole, keeps the last good."""

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from fraud_core.features import FEATURE_SPEC, FeatureSpecMismatch
from fraud_core.model import LoadedModel
from fraud_core.policy import ThresholdPolicy
from fraud_serving import metrics
from fraud_serving.model_slots import RegistryFollower, Slots

_X = np.random.default_rng(0).normal(size=(50, len(FEATURE_SPEC.names))).astype(np.float32)
BOOSTER = xgb.train(
    {"objective": "binary:logistic"}, xgb.DMatrix(_X, label=_X[:, 0] > 0), num_boost_round=1
)


def loaded(version: str) -> LoadedModel:
    return LoadedModel(version, None, FEATURE_SPEC, BOOSTER)


@dataclass
class FakeRegistry:
    aliases_: dict = field(default_factory=dict)
    percent: int = 0
    broken: set = field(default_factory=set)
    down: bool = False
    loads: list = field(default_factory=list)

    def release_state(self) -> tuple[dict, int]:
        if self.down:
            raise ConnectionError("registry down")
        return dict(self.aliases_), self.percent

    def load(self, version: str) -> LoadedModel:
        self.loads.append(version)
        if version in self.broken:
            raise FeatureSpecMismatch(f"feature spec of {version} differs")
        return loaded(version)


class FakeStore:
    arms: list = []
    metrics_rows = pd.DataFrame(
        [
            {"metric": "fpr", "value": 0.07, "model_version": "1", "variant": "champion",
             "segment": None, "feature": None, "computed_at": pd.Timestamp("2026-01-01", tz="UTC")},
            {"metric": "feature_drift", "value": 0.3, "model_version": None, "variant": None,
             "segment": None, "feature": "amount_usd", "computed_at": None},
        ]
    )  # fmt: skip

    def load_policy_arms(self, *, model_version: str) -> list:
        return self.arms

    def latest_metrics(self) -> pd.DataFrame:
        return self.metrics_rows


@pytest.fixture
def follower() -> RegistryFollower:
    target = SimpleNamespace(slots=Slots())
    return RegistryFollower(target, FakeRegistry({"champion": "1"}), FakeStore(), 1.0)


def test_first_poll_loads_champion_policy_and_monitoring(follower: RegistryFollower) -> None:
    slots = follower.poll_once()
    assert slots.ready and slots.champion.version == "1" and slots.stage == "stable"
    assert slots.policies == {"1": ThresholdPolicy()}
    assert slots.policy(slots.champion) == ThresholdPolicy()
    assert metrics.FPR.labels("1", "champion")._value.get() == 0.07
    assert metrics.FEATURE_DRIFT.labels("amount_usd")._value.get() == 0.3
    assert follower.status.registry_error is None


def test_alias_moves_reuse_loaded_models(follower: RegistryFollower) -> None:
    registry = follower.registry
    follower.poll_once()
    registry.aliases_.update(canary="2", challenger="3")
    registry.percent = 25
    slots = follower.poll_once()
    assert (slots.canary.version, slots.canary_percent, slots.challenger.version) == ("2", 25, "3")
    assert slots.stage == "canary 25%"
    registry.aliases_ = {"champion": "2", "previous": "1"}  # promoted
    registry.percent = 0
    before = list(registry.loads)
    slots = follower.poll_once()
    assert slots.champion.version == "2" and slots.canary is None and slots.challenger is None
    assert registry.loads == before  # version 2 was already in memory


def test_failures_keep_the_last_good_champion(follower: RegistryFollower) -> None:
    registry = follower.registry
    first = follower.poll_once()
    failures = metrics.MODEL_LOAD_FAILURES._value.get()
    registry.aliases_.update(champion="9", canary="8")
    registry.percent = 10
    registry.broken |= {"9", "8"}
    slots = follower.poll_once()
    assert slots.champion is first.champion and slots.canary is None
    assert "version 9" in follower.status.registry_error
    assert metrics.MODEL_LOAD_FAILURES._value.get() == failures + 2
    registry.down = True
    assert follower.poll_once() is not None and follower.target.slots.champion is first.champion
    assert "unreachable" in follower.status.registry_error
    assert metrics.REGISTRY_UP._value.get() == 0
    registry.down = False
    registry.broken.clear()
    assert follower.poll_once().champion.version == "9"
    assert follower.status.registry_error is None and metrics.REGISTRY_UP._value.get() == 1


def test_unreadable_policy_and_monitoring_are_counted_and_logged_once(
    follower: RegistryFollower, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**_: object) -> None:
        raise ValueError("relation policy_arms does not exist")

    failures = {s: metrics.READ_FAILURES.labels(s)._value.get() for s in ("policy", "monitoring")}
    follower.store.load_policy_arms = broken
    follower.store.latest_metrics = broken
    for _ in range(3):
        follower.poll_once()
    for source in ("policy", "monitoring"):
        assert metrics.READ_FAILURES.labels(source)._value.get() == failures[source] + 3
    assert "policy: ValueError" in follower.status.store_error
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2 and all("policy_arms does not exist" in r.message for r in errors)
    del follower.store.load_policy_arms, follower.store.latest_metrics
    follower.poll_once()
    assert follower.status.store_error is None
    assert sum("works again" in r.message for r in caplog.records) == 2
