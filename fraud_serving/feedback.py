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

    `backlog()` counts prediction rows scored but not yet in the store (the spool after an
    outage): while it is non-zero a label for an unknown transaction may be for one of them,
    so it answers 503 (cause `prediction_pending`) instead of a final 422.
    """

    def __init__(self, store: Any, backlog: Callable[[], int], retry_after_seconds: int) -> None:
        self.store = store
        self.backlog = backlog
        self.retry_after = {"Retry-After": str(max(1, retry_after_seconds))}
        self._failures = FailureLog(log)

    def record(self, labels: Sequence[Label]) -> tuple[dict[str, Any], int, dict[str, str]]:
        try:
            body, status = record_feedback(self.store, labels)
        except Exception as error:
            cause = failure_cause(error)
            metrics.FEEDBACK_FAILURES.labels(cause).inc()
            self._failures.failed(f"storing feedback ({cause})", error)
            message = f"feedback store unavailable, nothing stored; retry later ({reason(error)})"
            return {"error": message, "cause": cause}, 503, self.retry_after
        self._failures.recovered("storing feedback (unreachable)")
        self._failures.recovered("storing feedback (store_error)")
        if status == 422 and self._pending(body):
            metrics.FEEDBACK_FAILURES.labels("prediction_pending").inc()
            waiting = [r["transaction_id"] for r in body["rejected"] if r["reason"] == UNKNOWN]
            body["error"] = (
                "transactions not in the store yet while scored rows wait to be written"
                f" (retry later): {', '.join(map(str, waiting))}; other labels stored"
            )
            body["cause"] = "prediction_pending"
            return body, 503, self.retry_after
        return body, status, {}

    def _pending(self, body: dict[str, Any]) -> bool:
        if not any(r["reason"] == UNKNOWN for r in body["rejected"]):
            return False
        try:
            return self.backlog() > 0
        except OSError:  # the spool folder cannot be read: assume rows are waiting
            return True
