"""The prediction log on the real store (SQLite and PostgreSQL): a refused row is quarantined
while its batch is stored, and a dead worker's write-ahead file is recovered exactly once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fraud_core.features import FEATURE_SPEC
from fraud_serving import metrics
from fraud_serving.prediction_log import PredictionLog
from fraud_serving.wal import WriteAheadLog, encode


def prediction(i: int, **overrides) -> dict:
    now = datetime.now(UTC)
    row = {
        "transaction_id": f"pl-{i}", "event_time": now, "scored_at": now,
        "customer_hash": "c", "amount": 10.0, "currency": "USD", "amount_usd": 10.0,
        "payment_method": "card", "wallet_provider": None, "channel": "online",
        "card_present": False, "customer_country": "DE", "merchant_country": "DE",
        "merchant_category": "grocery", "features": dict.fromkeys(FEATURE_SPEC.names, 0.5),
        "feature_version": FEATURE_SPEC.version, "score": 0.1, "threshold": 0.5,
        "decision": "approve", "model_version": "1", "variant": "champion",
        "segment": "all", "explored": False, "propensity": 1.0, "policy_version": None,
    }  # fmt: skip
    return {**row, **overrides}


def test_a_row_the_store_refuses_is_quarantined_not_an_outage(store, tmp_path: Path) -> None:
    quarantined = metrics.LOG_QUARANTINED.labels("prediction")._value.get()
    log = PredictionLog(store, tmp_path / "spool")
    for i in range(20):
        log.put("prediction", prediction(i, decision="maybe" if i == 7 else "approve"))
    log.flush()
    assert store.count_predictions() == 19
    assert log.store_up and log.spool.rows_waiting() == 0
    assert metrics.LOG_QUARANTINED.labels("prediction")._value.get() == quarantined + 1
    (errors,) = (tmp_path / "spool" / "quarantine").glob("*.errors")
    assert errors.read_text().startswith("pl-7 (prediction): RowError")


def test_a_dead_workers_rows_are_stored_exactly_once(store, tmp_path: Path) -> None:
    dead = WriteAheadLog(tmp_path / "wal")
    for i in range(50):
        dead.append(encode("prediction", prediction(i)))
    store.insert_predictions([prediction(i) for i in range(30)])  # committed before the crash
    dead._lock_file.close()  # the kernel's part when its process is killed
    log = PredictionLog(store, tmp_path / "spool", wal=WriteAheadLog(tmp_path / "wal"))
    assert log.wal.recover(log._handle_all) == 50
    assert store.count_predictions() == 50
    assert log.wal.recover(log._handle_all) == 0
    log.close()


def test_a_half_imported_pandas_is_not_an_error(monkeypatch) -> None:
    """The log writer validates rows while another thread may be importing pandas."""
    import sys
    import types

    from fraud_core.store.rows import _is_frame

    monkeypatch.setitem(sys.modules, "pandas", types.ModuleType("pandas"))  # no DataFrame yet
    assert not _is_frame([prediction(1)])
