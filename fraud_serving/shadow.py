"""The shadow runner: the `challenger` scores the served features off the request path.

Requests only enqueue (features, the challenger's threshold, the served decision). One thread
drains the queue every `interval` (0.5 s) and scores what accumulated in a single XGBoost call
per model version (a 64-row call costs about twice a 1-row call), writes `shadow_predictions` rows
through the prediction log and counts disagreements. The shadow's decision never reaches the
response. If the shadow falls behind by more than `max_queue` transactions the excess is not
scored and is counted in `fraud_shadow_dropped_total`: shadow evaluation is a sample, the
served decisions are not. A model version that fails to score counts its transactions in
`fraud_shadow_failed_total{model_version}` and logs the cause once (again when it changes).
The queue is in memory, and shadow rows skip the prediction log's write-ahead file: a killed
process loses its recent shadow sample (about `interval` plus the log's flush interval of
traffic), never a served prediction.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np

from fraud_core.model import LoadedModel
from fraud_serving import metrics
from fraud_serving.failures import FailureLog
from fraud_serving.prediction_log import PredictionLog

log = logging.getLogger(__name__)


class ShadowItem(NamedTuple):
    """One served transaction as the shadow needs it (a tuple: built on the request path)."""

    transaction_id: str
    event_time: datetime
    features: np.ndarray
    threshold: float
    served_block: bool  # the served model's decision before exploration


class ShadowRunner:
    """Queue + thread scoring the shadow model in micro-batches every `interval` seconds."""

    def __init__(
        self,
        prediction_log: PredictionLog | None,
        interval: float = 0.5,
        max_batch: int = 2000,
        max_queue: int = 50_000,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.log = prediction_log
        self.interval = interval
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.clock = clock or (lambda: datetime.now(UTC))
        self._items: deque[tuple[LoadedModel, ShadowItem]] = deque()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)
        self._failures = FailureLog(log)

    def start(self) -> ShadowRunner:
        self._thread.start()
        return self

    def submit(self, model: LoadedModel, item: ShadowItem) -> None:
        """Queue one transaction (a bare deque append: the request thread never waits)."""
        if len(self._items) >= self.max_queue:
            metrics.SHADOW_DROPPED.inc()
            return
        self._items.append((model, item))

    def drain(self) -> int:
        """Score everything queued now, in the caller's thread (for a runner that was never
        started: the replay drives the shadow this way); the number of items scored."""
        items, scored = self._items, 0
        while items:
            batch = [items.popleft() for _ in range(min(len(items), self.max_batch))]
            self._score(batch)
            scored += len(batch)
        return scored

    def close(self, timeout: float = 10.0) -> None:
        """Score what is queued, then stop."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        items = self._items
        while True:
            stopping = self._stopping.is_set()
            if len(items) < self.max_batch:
                self._stopping.wait(self.interval)
            batch = [items.popleft() for _ in range(min(len(items), self.max_batch))]
            if batch:
                self._score(batch)
            if stopping and not items:
                return

    def _score(self, batch: list[tuple[LoadedModel, ShadowItem]]) -> None:
        by_model: dict[str, tuple[LoadedModel, list[ShadowItem]]] = {}
        for model, item in batch:
            by_model.setdefault(model.version, (model, []))[1].append(item)
        scored_at = self.clock()
        for version, (model, items) in by_model.items():
            what = f"shadow scoring by model version {version}"
            try:
                scores = model.predict(np.stack([i.features for i in items]))
            except Exception as error:
                metrics.SHADOW_FAILED.labels(version).inc(len(items))
                self._failures.failed(what, error)
                continue
            self._failures.recovered(what)
            disagreements = 0
            for item, score in zip(items, scores.tolist(), strict=True):
                block = score >= item.threshold
                disagreements += block != item.served_block
                if self.log is not None:
                    self.log.put(
                        "shadow",
                        {
                            "transaction_id": item.transaction_id,
                            "event_time": item.event_time,
                            "scored_at": scored_at,
                            "model_version": version,
                            "score": score,
                            "threshold": item.threshold,
                            "decision": "block" if block else "approve",
                        },
                    )
            metrics.SHADOW_PREDICTIONS.labels(version).inc(len(items))
            if disagreements:
                metrics.SHADOW_DISAGREEMENTS.labels(version).inc(disagreements)
