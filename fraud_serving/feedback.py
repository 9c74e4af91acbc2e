"""Verified outcomes into `label_events`: the body of `POST /feedback`.

`record_feedback` is callable in process (the replay delivers its simulated disputes through
it) and raises what the store raises. `FeedbackDesk` is the HTTP face: a store that fails
answers 503 with ``Retry-After`` (the client retries; labels are idempotent on
(transaction_id, source), so a retried batch never duplicates), counted in
``fraud_feedback_failures_total{cause}`` and logged once per cause. No label is ever
acknowledged (2xx) before the store has committed it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fraud_core.schema import Label
from fraud_serving import metrics
from fraud_serving.failures import FailureLog, reason

log = logging.getLogger(__name__)

UNKNOWN = "unknown transaction_id"
_UNREACHABLE = {"OperationalError", "InterfaceError"}  # DB-API: connection lost, refused, locked


def record_feedback(store: Any, labels: Sequence[Label]) -> tuple[dict[str, Any], int]:
    """Store `labels`; (response body, HTTP status): 200, or 422 naming the transactions whose
    labels were refused (unknown transaction) while the others are stored."""
    rows = [
        {
            "transaction_id": label.transaction_id,
            "label": label.label,
            "source": label.source,
            "reported_at": label.reported_at,
            "details": {"note": label.note} if label.note else None,
        }
        for label in labels
    ]
    result = store.upsert_labels(rows)
    body = {"inserted": result.inserted, "updated": result.updated}
    if not result.rejected:
        return body, 200
    rejected = [
        {"index": r.index, "transaction_id": r.transaction_id, "reason": r.reason}
        for r in result.rejected
    ]
    names = ", ".join(str(r["transaction_id"]) for r in rejected)
    return {"error": f"labels refused for transactions: {names}", "rejected": rejected, **body}, 422


def failure_cause(error: BaseException) -> str:
    """`unreachable` when the database cannot be reached (refused, dropped, locked), else
    `store_error` (a missing table or schema, a permission, a bug)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) or type(seen).__name__ in _UNREACHABLE:
            return "unreachable"
        seen = seen.__cause__ or seen.__context__
    return "store_error"


class FeedbackDesk:
    """`record(labels)` -> (body, status, headers) for `POST /feedback`.

    `held(ids)` names the transactions among `ids` that were scored but may not be stored yet
    (any worker's write-ahead segments, the spool after an outage, this worker's queue): a label
    for one of them answers 503 (cause `prediction_pending`) instead of a final 422.
    """

    def __init__(
        self, store: Any, held: Callable[[list[str]], set[str]], retry_after_seconds: int
    ) -> None:
        self.store = store
        self.held = held
        self.retry_after = {"Retry-After": str(max(1, retry_after_seconds))}
        self._failures = FailureLog(log)

    def record(self, labels: Sequence[Label]) -> tuple[dict[str, Any], int, dict[str, str]]:
        try:
            body, status = record_feedback(self.store, labels)
            waiting = self._pending(body) if status == 422 else []
            if status == 422 and not waiting and _unknown(body):
                # a writer may have stored the rows between the store's answer and the scan
                again, status = record_feedback(self.store, labels)  # labels are idempotent
                body = {**again, **{k: body[k] + again[k] for k in ("inserted", "updated")}}
                waiting = self._pending(body) if status == 422 else []
        except Exception as error:
            cause = failure_cause(error)
            metrics.FEEDBACK_FAILURES.labels(cause).inc()
            self._failures.failed(f"storing feedback ({cause})", error)
            message = f"feedback store unavailable, nothing stored; retry later ({reason(error)})"
            return {"error": message, "cause": cause}, 503, self.retry_after
        self._failures.recovered("storing feedback (unreachable)")
        self._failures.recovered("storing feedback (store_error)")
        if waiting:
            metrics.FEEDBACK_FAILURES.labels("prediction_pending").inc()
            body["error"] = (
                "transactions not in the store yet while scored rows wait to be written"
                f" (retry later): {', '.join(map(str, waiting))}; other labels stored"
            )
            body["cause"] = "prediction_pending"
            return body, 503, self.retry_after
        return body, status, {}

    def _pending(self, body: dict[str, Any]) -> list[str]:
        """The refused-as-unknown transactions that a worker still holds."""
        unknown = _unknown(body)
        if not unknown:
            return []
        try:
            held = self.held(unknown)
        except OSError:  # the log's folders cannot be read: assume they hold them
            return unknown
        return [t for t in unknown if t in held]


def _unknown(body: dict[str, Any]) -> list[str]:
    return [r["transaction_id"] for r in body.get("rejected", []) if r["reason"] == UNKNOWN]
