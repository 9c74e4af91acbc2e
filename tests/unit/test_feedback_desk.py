"""The feedback desk on a real SQLite store: 503 when the store fails (by cause), 503 rather
than a final 422 while scored rows still wait in the spool, 422 otherwise."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fraud_core.schema import Label
from fraud_core.store import FeedbackStore
from fraud_serving import metrics
from fraud_serving.feedback import FeedbackDesk
from fraud_serving.store_handle import LazyStore
from tests.fixtures.prediction_log import synthetic_log

REPORTED = datetime.now(UTC) - timedelta(hours=1)


def labels(*ids: str) -> list[Label]:
    return [Label(transaction_id=i, label="fraud", source="api", reported_at=REPORTED) for i in ids]


def failures(cause: str) -> float:
    return metrics.FEEDBACK_FAILURES.labels(cause)._value.get()


def test_a_store_that_cannot_open_answers_503_unreachable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # the database's folder cannot be created under a file
    desk = FeedbackDesk(LazyStore(f"sqlite:///{blocker / 'fraud.db'}"), lambda ids: set(), 2)
    before = failures("unreachable")
    body, status, headers = desk.record(labels("tx-1"))
    assert (status, headers, body["cause"]) == (503, {"Retry-After": "2"}, "unreachable")
    assert "nothing stored" in body["error"]
    assert failures("unreachable") == before + 1


def test_unknown_transactions_wait_for_the_spool_then_are_refused(tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'fraud.db'}")
    rows, _ = synthetic_log(days=1, per_day=5)
    store.insert_predictions(rows)
    known = rows[0]["transaction_id"]
    waiting = {"scored-in-outage"}
    desk = FeedbackDesk(store, lambda ids: waiting & set(ids), 1)
    before = failures("prediction_pending")
    body, status, headers = desk.record(labels(known, "scored-in-outage"))
    assert (status, headers, body["cause"]) == (503, {"Retry-After": "1"}, "prediction_pending")
    assert "scored-in-outage" in body["error"] and body["inserted"] == 1
    assert failures("prediction_pending") == before + 1
    waiting.clear()
    body, status, headers = desk.record(labels(known, "scored-in-outage"))
    assert (status, headers, body["inserted"]) == (422, {}, 0)  # the known one is not re-done
    assert body["rejected"][0]["transaction_id"] == "scored-in-outage"
    assert desk.record(labels(known)) == ({"inserted": 0, "updated": 0}, 200, {})
