"""Prediction log: batches, spool while the store is down, ordered replay, flush on close,
quarantine of rows the store refuses."""

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from fraud_serving import metrics
from fraud_serving.prediction_log import PredictionLog, Spool


class FlakyStore:
    """In-memory store, idempotent like the real one, that can be switched off."""

    def __init__(self) -> None:
        self.up = True
        self.predictions: dict[str, dict] = {}
        self.shadows: dict[tuple[str, str], dict] = {}
        self.calls = 0
        self.lock = threading.Lock()

    def _check(self) -> None:
        self.calls += 1
        if not self.up:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))

    def insert_predictions(self, rows: list[dict]) -> int:
        with self.lock:
            self._check()
            if any(r["transaction_id"] == "poison" for r in rows):
                raise IntegrityError("INSERT", {}, ValueError("check constraint"))
            for row in rows:
                assert isinstance(row["event_time"], datetime)
                self.predictions.setdefault(row["transaction_id"], row)
            return len(rows)

    def insert_shadow_predictions(self, rows: list[dict]) -> int:
        with self.lock:
            self._check()
            for row in rows:
                self.shadows.setdefault((row["transaction_id"], row["model_version"]), row)
            return len(rows)


def row(i: int | str) -> dict:
    now = datetime.now(UTC)
    return {"transaction_id": str(i), "event_time": now, "scored_at": now, "score": 0.1}


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def store() -> FlakyStore:
    return FlakyStore()


def make_log(store: FlakyStore, spool: Path) -> PredictionLog:
    return PredictionLog(store, spool, batch_size=50, flush_seconds=0.05, retry_seconds=0.1)


def test_batches_reach_the_store(store: FlakyStore, tmp_path: Path) -> None:
    log = make_log(store, tmp_path).start()
    for i in range(500):
        log.put("prediction", row(i))
    log.put("shadow", {**row(1), "model_version": "2"})
    wait_for(lambda: len(store.predictions) == 500 and store.shadows)
    assert store.calls < 60  # batched, not one call per row
    log.close()


def test_outage_spools_then_replays_exactly_once(store: FlakyStore, tmp_path: Path) -> None:
    dropped = metrics.LOG_DROPPED._value.get()
    log = make_log(store, tmp_path).start()
    for i in range(100):
        log.put("prediction", row(i))
    wait_for(lambda: len(store.predictions) == 100)
    store.up = False
    for i in range(100, 400):
        log.put("prediction", row(i))
        log.put("shadow", {**row(i), "model_version": "2"})
    wait_for(lambda: log.pending() == 0 and log.spool.rows_waiting() == 600)
    assert not log.store_up
    store.up = True
    for i in range(400, 450):
        log.put("prediction", row(i))
    wait_for(lambda: len(store.predictions) == 450 and len(store.shadows) == 300)
    wait_for(lambda: log.spool.rows_waiting() == 0)
    log.close()
    assert metrics.LOG_DROPPED._value.get() == dropped


def test_close_spools_when_down_and_next_process_replays(store: FlakyStore, tmp_path: Path) -> None:
    store.up = False
    log = make_log(store, tmp_path).start()
    for i in range(120):
        log.put("prediction", row(i))
    log.close()
    assert not store.predictions
    assert Spool(tmp_path).rows_waiting() == 120
    store.up = True
    successor = make_log(store, tmp_path).start()
    wait_for(lambda: len(store.predictions) == 120)
    successor.close()
    assert Spool(tmp_path).rows_waiting() == 0


def test_rows_refused_by_a_reachable_store_are_quarantined(
    store: FlakyStore, tmp_path: Path
) -> None:
    dropped = metrics.LOG_DROPPED._value.get()
    quarantined = metrics.LOG_QUARANTINED.labels("prediction")._value.get()
    log = make_log(store, tmp_path).start()
    log.put("prediction", row("poison"))
    for i in range(10):
        log.put("prediction", row(i))
    wait_for(lambda: len(store.predictions) == 10)
    log.close()
    assert log.store_up and not log.spool.files()  # a bad row is not an outage
    assert metrics.LOG_DROPPED._value.get() == dropped
    assert metrics.LOG_QUARANTINED.labels("prediction")._value.get() == quarantined + 1
    rows = list((tmp_path / "quarantine").glob("*.jsonl"))
    assert len(rows) == 1 and '"poison"' in rows[0].read_text()
    assert "IntegrityError" in rows[0].with_suffix(".errors").read_text()


def test_a_spooled_bad_row_is_quarantined_on_replay(store: FlakyStore, tmp_path: Path) -> None:
    store.up = False
    log = make_log(store, tmp_path).start()
    for i in ("a", "poison", "b"):
        log.put("prediction", row(i))
    wait_for(lambda: log.spool.rows_waiting() == 3)
    store.up = True
    wait_for(lambda: not log.spool.files() and len(store.predictions) == 2)
    log.close()
    assert len(list((tmp_path / "quarantine").glob("*.jsonl"))) == 1


def test_a_failing_store_is_not_a_bad_row(store: FlakyStore, tmp_path: Path) -> None:
    insert, calls = store.insert_predictions, []

    def half_imported(rows: list[dict]) -> int:
        calls.append(len(rows))
        if len(calls) == 1:
            raise AttributeError("partially initialized module 'pandas' has no attribute 'x'")
        return insert(rows)

    store.insert_predictions = half_imported
    log = make_log(store, tmp_path).start()
    for i in range(5):
        log.put("prediction", row(i))
    wait_for(lambda: len(store.predictions) == 5)  # spooled, then replayed
    log.close()
    assert not (tmp_path / "quarantine").exists()


def test_any_worker_knows_a_scored_row_not_yet_stored(store: FlakyStore, tmp_path: Path) -> None:
    """A label for a transaction a worker scored but has not stored is not 'unknown'."""
    from fraud_serving.wal import WriteAheadLog, encode

    log = PredictionLog(store, tmp_path / "spool", wal=WriteAheadLog(tmp_path / "wal"))
    log.put("prediction", row("queued"))  # this worker's queue and write-ahead segment
    elsewhere = tmp_path / "wal" / "99-4242-000000001.wal"  # another worker's open segment
    elsewhere.write_bytes(encode("prediction", row("elsewhere")))
    asked = ["queued", "spooled", "elsewhere", "never-scored"]
    assert log.holds(asked) == {"queued", "elsewhere"}
    log.flush()  # stored: the queue is empty and its segment deleted
    assert log.holds(asked) == {"elsewhere"} and "queued" in store.predictions
    log.spool.append([("prediction", row("spooled"))])  # the spool after an outage
    assert log.holds(asked) == {"spooled", "elsewhere"}
