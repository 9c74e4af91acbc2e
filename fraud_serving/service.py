"""BentoML face of the scorer: `bentoml serve fraud_serving.service:FraudScorer`.

Endpoints:

- ``POST /score``: one `Transaction` -> `ScoreResponse` (score, decision, threshold, segment,
  model version, variant, exploration, policy version). 503 until a champion is loaded.
- ``POST /score_batch``: ``{"transactions": [...]}`` with at most `MAX_BATCH` (1000) -> list
  of `ScoreResponse`, one model call per variant. Rows are logged like single scores.
- ``POST /feedback``: a `Label` or a list of them -> ``label_events``. Needs
  ``Authorization: Bearer $FRAUD_API_KEY`` (401 otherwise). Labels of unknown transactions
  are refused with 422 naming them; the others are stored. A failing store gives 503 with
  ``Retry-After`` (`fraud_serving.feedback`).
- ``GET /model``: champion, canary and challenger (scored in shadow) versions, canary percent,
  the champion's policy version and each served model's, stage, feature spec version,
  registry/store errors of the last poll.
- ``/livez``, ``/readyz`` (503 until a champion and the thresholds are loaded), ``/metrics``.

Each worker process runs its own scorer, registry follower, shadow runner and prediction log
with its write-ahead file (see `fraud_core.settings` for the environment knobs). Malformed
bodies get BentoML's 400 with pydantic's `detail` list; bodies over FRAUD_MAX_BODY_BYTES get
413.
"""

from __future__ import annotations

import logging
import math
from typing import Annotated, Any

import bentoml
from pydantic import Field, WithJsonSchema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fraud_core.features import FEATURE_SPEC
from fraud_core.registry import ModelRegistry
from fraud_core.schema import MAX_BATCH, Label, ScoreBatchRequest, ScoreResponse, Transaction
from fraud_core.settings import get_settings
from fraud_serving import metrics
from fraud_serving.feedback import FeedbackDesk
from fraud_serving.guard import RequestGuard
from fraud_serving.model_slots import RegistryFollower, Slots
from fraud_serving.prediction_log import PredictionLog
from fraud_serving.scorer import LogFull, NotReady, Scorer
from fraud_serving.shadow import ShadowRunner
from fraud_serving.store_handle import LazyStore
from fraud_serving.wal import WriteAheadLog

log = logging.getLogger(__name__)

SETTINGS = get_settings()
"""Read once per process: BentoML's service options (workers, logging) need it as the class is
defined."""
_LABEL_SCHEMA = Label.model_json_schema()
# Written out because BentoML's OpenAPI generator keeps only the first branch of an `anyOf`.
FeedbackBody = Annotated[
    Label | Annotated[list[Label], Field(min_length=1, max_length=MAX_BATCH)],
    WithJsonSchema(
        {
            "title": "Feedback",
            "oneOf": [
                _LABEL_SCHEMA,
                {"type": "array", "items": _LABEL_SCHEMA, "minItems": 1, "maxItems": MAX_BATCH},
            ],
        }
    ),
]
# Regular expressions searched in the request URL by BentoML's OpenTelemetry middleware.
UNTRACED_URLS = [r"/score(_batch)?/?(\?|$)"]
NOT_READY = {"error": "not ready: no champion model or threshold policy loaded yet"}


@bentoml.service(
    name="fraud_scorer",
    workers=SETTINGS.scorer_workers,
    traffic={"timeout": 30, "max_concurrency": 1024},
    http={"port": 3001},
    logging={"access": {"enabled": SETTINGS.access_log}},
    tracing={} if SETTINGS.trace_scoring else {"excluded_urls": UNTRACED_URLS},
)
class FraudScorer:
    """Champion, canary and challenger (in shadow) behind one HTTP face; state: `Scorer`."""

    def __init__(self) -> None:
        settings = SETTINGS
        metrics.create_failure_series()
        self.store = LazyStore(settings.db_url)
        self.log = PredictionLog(
            self.store,
            settings.spool_dir,
            batch_size=settings.log_batch_size,
            flush_seconds=settings.log_flush_seconds,
            retry_seconds=settings.log_retry_seconds,
            wal=WriteAheadLog(settings.wal_dir, settings.wal_fsync_seconds),
        ).start()
        self.feedback_desk = FeedbackDesk(
            self.store, self.log.holds, math.ceil(settings.log_retry_seconds)
        )
        self.shadow = ShadowRunner(self.log).start()
        self.scorer = Scorer(
            Slots(),
            hash_key=settings.hash_key,
            canary_salt=settings.canary_salt,
            exploration_rate=settings.exploration_rate,
            exploration_max_amount_usd=settings.exploration_max_amount_usd,
            prediction_log=self.log,
            shadow=self.shadow,
        )
        # No store: the scorer only reads aliases, it never moves them (no audit entries).
        registry = ModelRegistry(settings.mlflow_tracking_uri, model_name=settings.model_name)
        self.follower = RegistryFollower(
            self.scorer, registry, self.store, settings.registry_poll_seconds
        ).start()

    def __is_ready__(self) -> bool:
        return self.scorer.ready

    @bentoml.on_shutdown
    def close(self) -> None:
        """Stop polling, score the queued shadow work, flush the prediction log."""
        self.follower.stop()
        self.shadow.close()
        self.log.close()
        log.info("prediction log flushed (%d rows spooled)", self.log.spool.rows_waiting())

    @bentoml.api(route="/score")
    async def score(self, transaction: Transaction, /) -> ScoreResponse:
        """Score one transaction: probability of fraud, decision and the context behind it."""
        try:
            return self.scorer.score(transaction)
        except NotReady:
            return JSONResponse(NOT_READY, status_code=503)
        except LogFull as full:
            return _log_full(full)

    @bentoml.api(route="/score_batch")
    def score_batch(self, request: ScoreBatchRequest, /) -> list[ScoreResponse]:
        """Score up to 1000 transactions at once (bulk rescoring)."""
        try:
            return self.scorer.score_many(request.transactions)
        except NotReady:
            return JSONResponse(NOT_READY, status_code=503)
        except LogFull as full:
            return _log_full(full)

    @bentoml.api(route="/feedback")
    def feedback(self, labels: FeedbackBody, /) -> dict[str, Any]:
        """Record verified outcomes (bearer key required). Unknown transactions -> 422; the
        store failing -> 503 with Retry-After (nothing is acknowledged that is not stored)."""
        batch = labels if isinstance(labels, list) else [labels]
        body, status, headers = self.feedback_desk.record(batch)
        return body if status == 200 else JSONResponse(body, status_code=status, headers=headers)

    def model_info(self) -> dict[str, Any]:
        slots, status = self.scorer.slots, self.follower.status
        return {
            "ready": slots.ready,
            "champion": slots.champion and slots.champion.version,
            "canary": slots.canary and slots.canary.version,
            "canary_percent": slots.canary_percent if slots.canary is not None else 0,
            "challenger": slots.challenger and slots.challenger.version,
            "policy_version": slots.champion and slots.policy(slots.champion).version,
            "policy_versions": slots.policy_versions(),
            "stage": slots.stage,
            "feature_spec_version": FEATURE_SPEC.version,
            "aliases": status.aliases,
            "registry_error": status.registry_error,
            "store_error": status.store_error,
            "last_poll_at": status.last_poll_at and status.last_poll_at.isoformat(),
            "last_success_at": status.last_success_at and status.last_success_at.isoformat(),
            "prediction_log": {
                "queued": self.log.pending(),
                "spooled_rows": self.log.spool.rows_waiting(),
                "store_up": self.log.store_up,
            },
        }


def _log_full(full: LogFull) -> JSONResponse:
    """503: nothing was decided (a decision that could not be logged is never given)."""
    body = {"error": f"not scored: {full}; retry later"}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


async def _model_endpoint(_: Request) -> JSONResponse:
    service = bentoml.get_current_service()
    if service is None:
        return JSONResponse({"error": "service not started"}, status_code=503)
    return JSONResponse(service.model_info())


FraudScorer.mount_asgi_app(
    Starlette(routes=[Route("/model", _model_endpoint, methods=["GET"])]), path="/"
)
FraudScorer.add_asgi_middleware(
    RequestGuard,
    max_body_bytes=SETTINGS.max_body_bytes,
    api_key=SETTINGS.api_key,
    protected=("/feedback",),
    json_checked=("/feedback",),
)
