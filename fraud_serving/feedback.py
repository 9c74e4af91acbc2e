"""Verified outcomes into `label_events`: the body of `POST /feedback`, callable in process
(the replay delivers its simulated disputes through it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fraud_core.schema import Label


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
