"""The scoring and routing core, plain Python: usable in-process (replay, benchmarks) and
behind the BentoML service alike.

Per transaction: features (`fraud_core.features`, the training pipeline) -> champion, or the
canary for customers in its sticky share -> fraud probability -> threshold of the segment
from that model's own threshold policy (none learned yet: the static 0.5) -> decision,
with optional logged exploration -> response. Then, off the request path: the prediction row
is queued for the store and the shadow model (if any) gets the same features, decided at its
own threshold.

Exploration: a transaction the model would block, at most `exploration_max_amount_usd`, is
approved with probability `exploration_rate`; `explored` and `propensity` (the probability of
the action taken) are returned and logged, so inverse-propensity estimates of FPR and recall
stay unbiased.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np

from fraud_core.features import FEATURE_SPEC, as_dict, featurize, featurize_many
from fraud_core.features import threshold_segment as segment_of
from fraud_core.model import LoadedModel
from fraud_core.schema import ScoreResponse, Transaction, keyed_hash
from fraud_serving import metrics
from fraud_serving.model_slots import Slots
from fraud_serving.prediction_log import PredictionLog
from fraud_serving.router import routes_to_canary
from fraud_serving.shadow import ShadowItem, ShadowRunner


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class NotReady(RuntimeError):
    """No champion model or no threshold policy loaded yet."""


class LogFull(RuntimeError):
    """The prediction log holds `max_queue` rows the store has not taken yet: a decision now
    could not be logged, so none is given (503; the client retries)."""


class Scorer:
    """Routes, scores and decides; `slots` is swapped whole by the registry follower."""

    def __init__(
        self,
        slots: Slots,
        *,
        hash_key: str,
        canary_salt: str = "fraud-canary",
        exploration_rate: float = 0.0,
        exploration_max_amount_usd: float = 100.0,
        prediction_log: PredictionLog | None = None,
        shadow: ShadowRunner | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.slots = slots
        self.hash_key = hash_key
        self.canary_salt = canary_salt
        self.exploration_rate = exploration_rate
        self.exploration_max_amount_usd = exploration_max_amount_usd
        self.log = prediction_log
        self.shadow = shadow
        self._rng = rng or random.Random()
        self.clock = clock or _wall_clock
        """When a row is scored (`scored_at`): the wall clock, or a replay's simulated one."""

    @property
    def ready(self) -> bool:
        return self.slots.ready

    def score(self, tx: Transaction) -> ScoreResponse:
        """Decision on one transaction."""
        started = time.perf_counter()
        slots = self._snapshot(1)
        x = featurize(tx)
        is_canary = slots.canary is not None and routes_to_canary(
            tx.customer_id, slots.canary_percent, self.canary_salt
        )
        model, variant = (slots.canary, "canary") if is_canary else (slots.champion, "champion")
        score = float(self._predict(model, variant, x[None, :])[0])
        response = self._decide(tx, x, score, slots, is_canary)
        metrics.LATENCY.labels(variant).observe(time.perf_counter() - started)
        return response

    def score_many(self, transactions: Sequence[Transaction]) -> list[ScoreResponse]:
        """Decisions on several transactions, one model call per variant."""
        started = time.perf_counter()
        slots = self._snapshot(len(transactions))
        X = featurize_many(transactions)
        canary = np.array(
            [
                slots.canary is not None
                and routes_to_canary(tx.customer_id, slots.canary_percent, self.canary_salt)
                for tx in transactions
            ],
            dtype=bool,
        )
        scores = np.empty(len(transactions), dtype=np.float64)
        for variant, model, mask in (
            ("champion", slots.champion, ~canary),
            ("canary", slots.canary, canary),
        ):
            if mask.any():
                scores[mask] = self._predict(model, variant, X[mask])
        responses = [
            self._decide(tx, x, score, slots, is_canary)
            for tx, x, score, is_canary in zip(
                transactions, X, scores.tolist(), canary.tolist(), strict=True
            )
        ]
        share = (time.perf_counter() - started) / len(responses)  # each row: an equal part
        for response in responses:
            metrics.LATENCY.labels(response.variant).observe(share)
        return responses

    def _snapshot(self, rows: int) -> Slots:
        slots = self.slots  # one snapshot for the whole call: a swap never shows half-done
        if not slots.ready:
            raise NotReady("no champion model or threshold policy loaded yet")
        if self.log is not None and not self.log.has_room(rows):
            metrics.LOG_FULL_REFUSALS.inc(rows)
            raise LogFull(
                f"prediction log full ({self.log.pending():,} rows waiting for the store)"
            )
        return slots

    @staticmethod
    def _predict(model: LoadedModel, variant: str, X: np.ndarray) -> np.ndarray:
        try:
            return model.predict(X)
        except Exception:
            metrics.PREDICTIONS.labels(model.version, variant, "error").inc(len(X))
            raise

    def _decide(
        self,
        tx: Transaction,
        x: np.ndarray,
        score: float,
        slots: Slots,
        is_canary: bool,
    ) -> ScoreResponse:
        model, variant = (slots.canary, "canary") if is_canary else (slots.champion, "champion")
        amount_usd = tx.amount_usd
        segment = segment_of(amount_usd, tx.account_age_days, tx.payment_method)
        policy = slots.policy(model)
        threshold = policy.threshold(segment)
        block = score >= threshold
        explored, propensity, outcome = False, 1.0, "block" if block else "approve"
        rate = self.exploration_rate
        if block and rate > 0 and amount_usd <= self.exploration_max_amount_usd:
            if self._rng.random() < rate:
                explored, propensity, outcome = True, rate, "explore"
            else:
                propensity = 1.0 - rate
        decision = "block" if block and not explored else "approve"
        response = ScoreResponse.model_construct(
            transaction_id=tx.transaction_id,
            score=score,
            decision=decision,
            threshold=threshold,
            segment=segment,
            model_version=model.version,
            variant=variant,
            explored=explored,
            propensity=propensity,
            policy_version=policy.version,
        )
        metrics.PREDICTIONS.labels(model.version, variant, outcome).inc()
        metrics.SCORE.labels(variant).observe(score)
        if self.log is not None:
            self.log.put("prediction", self._row(tx, x, response, amount_usd))
        if self.shadow is not None and slots.challenger is not None:
            own = slots.policy(slots.challenger).threshold(segment)
            self.shadow.submit(
                slots.challenger, ShadowItem(tx.transaction_id, tx.event_time, x, own, block)
            )
        return response

    def _row(
        self,
        tx: Transaction,
        x: np.ndarray,
        response: ScoreResponse,
        amount_usd: float,
    ) -> dict:
        return {
            "transaction_id": tx.transaction_id,
            "event_time": tx.event_time,
            "scored_at": self.clock(),
            "customer_hash": keyed_hash(tx.customer_id, self.hash_key),
            "amount": tx.amount,
            "currency": tx.currency,
            "amount_usd": amount_usd,
            "payment_method": tx.payment_method,
            "wallet_provider": tx.wallet_provider,
            "channel": tx.channel,
            "card_present": tx.card_present,
            "customer_country": tx.customer_country,
            "merchant_country": tx.merchant_country,
            "merchant_category": tx.merchant_category,
            "features": as_dict(x),
            "feature_version": FEATURE_SPEC.version,
            "score": response.score,
            "threshold": response.threshold,
            "decision": response.decision,
            "model_version": response.model_version,
            "variant": response.variant,
            "segment": response.segment,
            "explored": response.explored,
            "propensity": response.propensity,
            "policy_version": response.policy_version,
        }
