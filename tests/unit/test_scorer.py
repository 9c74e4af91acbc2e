"""The in-process scoring core: routing, thresholds, exploration, shadow, log rows."""

import random
from datetime import UTC, datetime

import numpy as np
import pytest
import xgboost as xgb

from fraud_core.features import FEATURE_SPEC, featurize_many
from fraud_core.model import LoadedModel
from fraud_core.policy import ThresholdPolicy, top_level
from fraud_core.schema import Transaction
from fraud_serving import metrics
from fraud_serving.model_slots import Slots
from fraud_serving.scorer import LogFull, NotReady, Scorer
from fraud_serving.shadow import ShadowRunner
from tests.fixtures.scorer import transaction

TXS = [Transaction.model_validate(transaction(i)) for i in range(2000)]


def model(version: str, flip: bool = False) -> LoadedModel:
    X = featurize_many(TXS)
    y = (np.array([t.amount_usd for t in TXS]) > 400) ^ flip
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1).fit(X, y.astype(int))
    return LoadedModel(version, None, FEATURE_SPEC, clf.get_booster())


CHAMPION, CANARY, SHADOW = model("1"), model("2"), model("3", flip=True)


class ListLog:
    def __init__(self) -> None:
        self.rows: list[tuple[str, dict]] = []

    def put(self, kind: str, row: dict) -> bool:
        self.rows.append((kind, row))
        return True

    def has_room(self, rows: int) -> bool:
        return True


def test_not_ready_without_champion_or_policy() -> None:
    with pytest.raises(NotReady):
        Scorer(Slots(policies={}), hash_key="k").score(TXS[0])
    with pytest.raises(NotReady):
        Scorer(Slots(champion=CHAMPION), hash_key="k").score(TXS[0])


def test_single_and_batch_agree_and_match_raw_model() -> None:
    scorer = Scorer(Slots(champion=CHAMPION, policies={}), hash_key="k")
    batch = scorer.score_many(TXS[:200])
    singles = [scorer.score(tx) for tx in TXS[:200]]
    raw = CHAMPION.booster.inplace_predict(featurize_many(TXS[:200]))
    assert [r.score for r in batch] == pytest.approx([r.score for r in singles])
    assert [r.score for r in batch] == pytest.approx(raw.tolist(), rel=1e-6)
    for r in batch:
        assert r.decision == ("block" if r.score >= 0.5 else "approve")
        assert (r.model_version, r.variant, r.policy_version) == ("1", "champion", "static-0.5")


def test_canary_share_and_thresholds_by_segment() -> None:
    policy = ThresholdPolicy(version="p7", thresholds={"large|established": 0.9})
    policies = {"1": policy, "2": policy}
    slots = Slots(champion=CHAMPION, canary=CANARY, canary_percent=10, policies=policies)
    results = Scorer(slots, hash_key="k", canary_salt="s").score_many(TXS)
    share = sum(r.variant == "canary" for r in results) / len(results)
    assert share == pytest.approx(0.10, abs=0.02)
    assert all(r.model_version == ("2" if r.variant == "canary" else "1") for r in results)
    for r in results:
        assert r.threshold == (0.9 if top_level(r.segment) == "large|established" else 0.5)


def test_each_model_is_decided_at_its_own_thresholds() -> None:
    """Thresholds cut on one model's scores are that model's: the champion, the canary and the
    shadow challenger are each decided at their own policy, and a model without one at 0.5."""
    log = ListLog()
    shadow = ShadowRunner(log).start()
    policies = {
        "1": ThresholdPolicy(version="p8", thresholds={"all": 0.05}, model_version="1"),
        "3": ThresholdPolicy(version="p9", thresholds={"all": 0.9}, model_version="3"),
    }
    slots = Slots(
        champion=CHAMPION, canary=CANARY, canary_percent=50, challenger=SHADOW, policies=policies
    )
    results = Scorer(slots, hash_key="k", canary_salt="s", prediction_log=log, shadow=shadow)
    results = results.score_many(TXS[:400])
    shadow.close()
    champion = [r for r in results if r.variant == "champion"]
    canary = [r for r in results if r.variant == "canary"]
    assert champion and canary
    assert {(r.threshold, r.policy_version) for r in champion} == {(0.05, "p8")}
    assert {(r.threshold, r.policy_version) for r in canary} == {(0.5, "static-0.5")}
    assert all(r.decision == ("block" if r.score >= 0.5 else "approve") for r in canary)
    shadow_rows = [row for kind, row in log.rows if kind == "shadow"]
    assert len(shadow_rows) == 400 and {r["threshold"] for r in shadow_rows} == {0.9}
    assert slots.policy_versions() == {"1": "p8", "2": "static-0.5", "3": "p9"}


def test_exploration_is_capped_and_logged_with_propensity() -> None:
    log = ListLog()
    scorer = Scorer(
        Slots(champion=CHAMPION, policies={"1": ThresholdPolicy(default=0.0)}),  # block all
        hash_key="k",
        exploration_rate=0.3,
        exploration_max_amount_usd=300,
        prediction_log=log,
        rng=random.Random(1),
    )
    explore_before = metrics.PREDICTIONS.labels("1", "champion", "explore")._value.get()
    results = scorer.score_many(TXS)
    amounts = {t.transaction_id: t.amount_usd for t in TXS}
    eligible = [r for r in results if amounts[r.transaction_id] <= 300]
    assert all(not r.explored and r.propensity == 1.0 for r in results if r not in eligible)
    explored = [r for r in eligible if r.explored]
    assert len(explored) / len(eligible) == pytest.approx(0.3, abs=0.05)
    assert all(r.decision == "approve" and r.propensity == 0.3 for r in explored)
    assert all(r.decision == "block" and r.propensity == pytest.approx(0.7)
               for r in eligible if not r.explored)  # fmt: skip
    after = metrics.PREDICTIONS.labels("1", "champion", "explore")._value.get()
    assert after - explore_before == len(explored)
    rows = {row["transaction_id"]: row for _, row in log.rows}
    assert len(rows) == len(TXS)
    sample = rows[explored[0].transaction_id]
    assert sample["explored"] and sample["propensity"] == 0.3
    assert "cust-" not in sample["customer_hash"] and len(sample["features"]) == len(
        FEATURE_SPEC.names
    )


def test_shadow_scores_off_the_response_and_never_decides() -> None:
    log = ListLog()
    shadow = ShadowRunner(log).start()
    slots = Slots(champion=CHAMPION, challenger=SHADOW, policies={})
    scorer = Scorer(slots, hash_key="k", prediction_log=log, shadow=shadow)
    before = metrics.SHADOW_DISAGREEMENTS.labels("3")._value.get()
    results = scorer.score_many(TXS[:300])
    shadow.close()
    assert all(r.model_version == "1" for r in results)
    shadow_rows = [row for kind, row in log.rows if kind == "shadow"]
    assert len(shadow_rows) == 300 and {r["model_version"] for r in shadow_rows} == {"3"}
    served = {r.transaction_id: r.decision for r in results}
    disagreements = sum(r["decision"] != served[r["transaction_id"]] for r in shadow_rows)
    assert disagreements > 0  # the shadow was trained on flipped labels
    assert metrics.SHADOW_DISAGREEMENTS.labels("3")._value.get() - before == disagreements


class BrokenModel:
    version = "9"

    def predict(self, X: np.ndarray) -> np.ndarray:
        raise RuntimeError("challenger cannot score: feature count mismatch")


def test_a_shadow_that_cannot_score_is_counted_not_silent(caplog: pytest.LogCaptureFixture) -> None:
    log = ListLog()
    shadow = ShadowRunner(log)
    slots = Slots(champion=CHAMPION, challenger=BrokenModel(), policies={})
    scorer = Scorer(slots, hash_key="k", prediction_log=log, shadow=shadow)
    before = metrics.SHADOW_FAILED.labels("9")._value.get()
    for start in (0, 100):
        scorer.score_many(TXS[start : start + 100])
        assert shadow.drain() == 100
    assert metrics.SHADOW_FAILED.labels("9")._value.get() - before == 200
    assert not [row for kind, row in log.rows if kind == "shadow"]
    errors = [r.message for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "feature count mismatch" in errors[0]  # once per cause


def test_a_full_log_refuses_before_deciding_and_loses_nothing(tmp_path) -> None:
    """A decision that could not be logged is never given: the request is refused (503 in the
    service), nothing is dropped, and every decision given reaches the store."""
    from fraud_core.store import FeedbackStore
    from fraud_serving.prediction_log import PredictionLog

    store = FeedbackStore(f"sqlite:///{tmp_path / 'fraud.db'}")
    log = PredictionLog(store, tmp_path / "spool", max_queue=5)  # not started: nothing drains
    scorer = Scorer(Slots(champion=CHAMPION, policies={}), hash_key="k", prediction_log=log)
    dropped, refused = metrics.LOG_DROPPED._value.get(), metrics.LOG_FULL_REFUSALS._value.get()
    given = [scorer.score(tx) for tx in TXS[:3]] + scorer.score_many(TXS[3:5])
    with pytest.raises(LogFull, match="5 rows waiting"):
        scorer.score(TXS[5])
    with pytest.raises(LogFull):
        scorer.score_many(TXS[5:7])
    assert metrics.LOG_FULL_REFUSALS._value.get() - refused == 3
    log.flush()  # the store takes the queue: scoring resumes
    given.append(scorer.score(TXS[5]))
    log.flush()
    assert metrics.LOG_DROPPED._value.get() == dropped
    every_day = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    stored = set(
        store.predictions_between(*every_day, columns=["transaction_id"])["transaction_id"]
    )
    assert stored == {r.transaction_id for r in given}
    store.close()
