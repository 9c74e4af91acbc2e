"""Write-ahead log: a killed process's rows are recovered once, a live one's never taken."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from fraud_serving import metrics
from fraud_serving.prediction_log import PredictionLog
from fraud_serving.wal import WriteAheadLog, encode
from tests.unit.test_prediction_log import FlakyStore, row, wait_for

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import sys, time
from fraud_serving.prediction_log import PredictionLog
from fraud_serving.wal import WriteAheadLog
from tests.unit.test_prediction_log import row

class Unused:  # the child is killed before its writer would run
    pass

log = PredictionLog(Unused(), sys.argv[1] + "/spool", flush_seconds=3600,
                    wal=WriteAheadLog(sys.argv[1] + "/wal", fsync_seconds=0))
log.start()
for i in range(int(sys.argv[2])):
    log.put("prediction", row(f"k{i}"))
    log.put("shadow", {**row(f"k{i}"), "model_version": "2"})
print("acknowledged", flush=True)
time.sleep(600)
"""


def test_rows_of_a_killed_process_reach_the_store_once(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), "300"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "acknowledged"
    store = FlakyStore()
    survivor = PredictionLog(store, tmp_path / "spool", flush_seconds=0.05, retry_seconds=0.1,
                             wal=WriteAheadLog(tmp_path / "wal")).start()  # fmt: skip
    recovered = metrics.LOG_RECOVERED._value.get()
    try:
        wait_for(lambda: not store.predictions, 0.5)  # alive: its lock is held
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        wait_for(lambda: len(store.predictions) == 300)
        assert metrics.LOG_RECOVERED._value.get() - recovered == 300
        assert not store.shadows  # a sample, kept in memory only
        survivor.put("prediction", row("after"))
        wait_for(lambda: "after" in store.predictions)
    finally:
        child.kill()
        survivor.close()
    assert not list((tmp_path / "wal").iterdir())  # recovered and own files all deleted


def test_recovery_is_idempotent_and_counts_torn_lines(tmp_path: Path) -> None:
    store = FlakyStore()
    dead = WriteAheadLog(tmp_path, fsync_seconds=0)
    for i in range(5):
        dead.append(encode("prediction", row(i)))
    dead.append(b'{"kind":"prediction","row":{"transaction_')  # torn by a power loss
    store.insert_predictions([row(0), row(1)])  # committed before the crash
    dead._lock_file.close()  # what the kernel does when its process dies
    dropped = metrics.LOG_DROPPED._value.get()
    reader = WriteAheadLog(tmp_path)
    recovered = reader.recover(lambda batch: store.insert_predictions([r for _, r in batch]))
    assert recovered == 5 and sorted(store.predictions) == ["0", "1", "2", "3", "4"]
    assert metrics.LOG_DROPPED._value.get() - dropped == 1
    assert reader.recover(lambda batch: None) == 0
    reader.close()
    assert not list(tmp_path.iterdir())


def test_rows_spooled_while_the_store_is_down_release_their_segment(tmp_path: Path) -> None:
    store = FlakyStore()
    store.up = False
    wal = WriteAheadLog(tmp_path / "wal")
    log = PredictionLog(store, tmp_path / "spool", wal=wal)
    log.put("prediction", row("x"))
    sealed = wal.seal()
    assert sealed and sealed[0].path.read_bytes().count(b"\n") == 1
    log.flush()  # store down: spooled, then the segments go
    assert log.spool.rows_waiting() == 1 and not any(s.path.exists() for s in sealed)
    wal.close()
