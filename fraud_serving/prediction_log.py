"""The prediction log: rows leave the request path through a queue and reach the store in
batches; while the store is unreachable they wait in a disk spool and are replayed in order.

- `put(kind, row)` never blocks and never touches the database. Each process has one writer
  thread that writes up to `batch_size` rows at a time, at least every `flush_seconds`.
- A batch that cannot be written is appended to the spool as one file
  (``<process-start>-<pid>-<seq>-<rows>.jsonl``, written to a temp name then renamed). While this
  process has spool files left, new batches go to the spool too, so a shadow row never reaches
  the store before the prediction it refers to.
- Every `retry_seconds` one process (an exclusive `flock` on the spool directory) replays all
  spool files in name order and deletes each once written. The store's inserts are idempotent
  (predictions on transaction_id, shadow rows on (transaction_id, model_version)), so a replay
  after a partial write or a crash never duplicates a row.
- A file the store keeps refusing while reachable (not a connection error) is moved to
  ``rejected/`` after `MAX_ATTEMPTS` replays and counted in `fraud_prediction_log_dropped_total`.
- `close()` drains the queue: to the store if it answers, else to the spool (replayed by the
  next process that starts on the same spool directory).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fraud_serving import metrics

log = logging.getLogger(__name__)

Kind = Literal["prediction", "shadow"]
Batch = list[tuple[Kind, dict[str, Any]]]
MAX_ATTEMPTS = 5
_DATETIME_FIELDS = ("event_time", "scored_at")
_TRANSIENT_NAMES = {"OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError"}


def _is_transient(error: BaseException) -> bool:
    """Connection-level failures (database down, network cut) as opposed to bad rows."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError | ConnectionError) or type(seen).__name__ in _TRANSIENT_NAMES:
            return True
        if getattr(seen, "connection_invalidated", False):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _encode(kind: Kind, row: dict[str, Any]) -> str:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
    return json.dumps({"kind": kind, "row": out}, separators=(",", ":"))


def _decode(line: str) -> tuple[Kind, dict[str, Any]]:
    item = json.loads(line)
    row = item["row"]
    for name in _DATETIME_FIELDS:
        if isinstance(row.get(name), str):
            row[name] = datetime.fromisoformat(row[name])
    return item["kind"], row


class Spool:
    """Batches waiting on disk, one JSON-lines file per batch, shared by all workers."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._prefix = f"{time.time_ns():020d}-{os.getpid()}"
        self._seq = 0
        self._attempts: dict[str, int] = {}

    def files(self, own: bool = False) -> list[Path]:
        pattern = f"{self._prefix}-*.jsonl" if own else "*.jsonl"
        return sorted(self.directory.glob(pattern))

    def rows_waiting(self) -> int:
        return sum(int(p.stem.rsplit("-", 1)[1]) for p in self.files())

    def append(self, batch: Batch) -> Path:
        self._seq += 1
        name = f"{self._prefix}-{self._seq:09d}-{len(batch)}.jsonl"
        tmp = self.directory / f".{name}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            fh.writelines(_encode(kind, row) + "\n" for kind, row in batch)
            fh.flush()
            os.fsync(fh.fileno())
        final = self.directory / name
        tmp.replace(final)
        return final

    @staticmethod
    def read(path: Path) -> Batch:
        with path.open(encoding="utf-8") as fh:
            return [_decode(line) for line in fh if line.strip()]

    def replay(self, write: Callable[[Batch], None]) -> bool | None:
        """Write every spool file in name order, deleting each once written.

        Returns False when the store is still unreachable (stops at the first connection-level
        failure), None when another process holds the replay lock, True otherwise.
        """
        with (self.directory / ".replay.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            for path in self.files():
                try:
                    write(self.read(path))
                except FileNotFoundError:
                    continue  # replayed and removed by another process meanwhile
                except Exception as error:
                    if _is_transient(error):
                        return False
                    self._refused(path, write, error)
                    continue
                path.unlink(missing_ok=True)
                self._attempts.pop(path.name, None)
            return True

    def _refused(self, path: Path, write: Callable[[Batch], None], error: Exception) -> None:
        """A file the reachable store refuses: retry later; at the last attempt write its rows
        one by one and set aside only those still refused."""
        attempts = self._attempts.get(path.name, 0) + 1
        self._attempts[path.name] = attempts
        log.warning("spool file %s refused by the store (attempt %d): %s", path, attempts, error)
        if attempts < MAX_ATTEMPTS:
            return
        refused = []
        for item in self.read(path):
            try:
                write([item])
            except Exception as row_error:
                if _is_transient(row_error):
                    return
                refused.append(item)
        if refused:
            rejected = self.directory / "rejected"
            rejected.mkdir(exist_ok=True)
            with (rejected / path.name).open("w", encoding="utf-8") as fh:
                fh.writelines(_encode(kind, row) + "\n" for kind, row in refused)
            metrics.LOG_DROPPED.inc(len(refused))
            log.error("%d rows of %s refused, kept in %s", len(refused), path, rejected)
        path.unlink(missing_ok=True)
        self._attempts.pop(path.name, None)


class PredictionLog:
    """Queue + batch writer + disk spool in front of the feedback store."""

    def __init__(
        self,
        store: Any,
        spool_dir: Path,
        batch_size: int = 500,
        flush_seconds: float = 0.5,
        retry_seconds: float = 2.0,
        max_queue: int = 200_000,
    ) -> None:
        self.store = store
        self.spool = Spool(spool_dir)
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self.max_queue = max_queue
        self._rows: deque[tuple[Kind, dict[str, Any]]] = deque()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._stopping = threading.Event()
        self._next_replay = 0.0
        self.store_up = True

    def start(self) -> PredictionLog:
        self._thread.start()
        return self

    def put(self, kind: Kind, row: dict[str, Any]) -> bool:
        """Queue one row; False (and counted as dropped) if `max_queue` rows are waiting.

        A bare deque append: no lock and no wake-up of the writer, which drains the queue on
        its own clock (a Queue.put that wakes the writer for every row cost the request
        thread a GIL hand-off each time).
        """
        if len(self._rows) >= self.max_queue:
            metrics.LOG_DROPPED.inc()
            log.error("prediction log queue full: dropped a %s row", kind)
            return False
        self._rows.append((kind, row))
        return True

    def pending(self) -> int:
        return len(self._rows)

    def flush(self) -> None:
        """Write everything queued now, in the caller's thread (for a log that was never
        started: the replay writes each simulated hour before the platform looks at it)."""
        while self._rows:
            self._handle(
                [self._rows.popleft() for _ in range(min(len(self._rows), self.batch_size))]
            )

    def close(self, timeout: float = 30.0) -> None:
        """Drain the queue to the store (or the spool if it is down) and stop the writer."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _take(self) -> Batch:
        """Up to batch_size rows; waits up to flush_seconds while fewer are queued."""
        if len(self._rows) < self.batch_size:
            self._stopping.wait(self.flush_seconds)
        rows = self._rows
        return [rows.popleft() for _ in range(min(len(rows), self.batch_size))]

    def _run(self) -> None:
        self._replay(force=True)  # leftovers of an earlier process on this spool directory
        while True:
            stopping = self._stopping.is_set()
            batch = self._take()
            if batch:
                self._handle(batch)
            if stopping and not self._rows:
                if self.spool.files():
                    self._replay(force=True)
                return
            if self.spool.files():
                self._replay()

    def _write(self, batch: Batch) -> None:
        predictions = [row for kind, row in batch if kind == "prediction"]
        shadows = [row for kind, row in batch if kind == "shadow"]
        if predictions:
            self.store.insert_predictions(predictions)
        if shadows:
            self.store.insert_shadow_predictions(shadows)

    def _handle(self, batch: Batch) -> None:
        if self.store_up and not self.spool.files(own=True):
            try:
                self._write(batch)
                return
            except Exception as error:
                self._mark_down(error)
        self.spool.append(batch)
        metrics.LOG_SPOOLED.set(self.spool.rows_waiting())

    def _mark_down(self, error: Exception) -> None:
        if self.store_up:
            log.warning("feedback store unreachable, spooling prediction rows: %s", error)
        self.store_up = False
        self._next_replay = time.monotonic() + self.retry_seconds

    def _replay(self, force: bool = False) -> None:
        if not force and time.monotonic() < self._next_replay:
            return
        try:
            reachable = self.spool.replay(self._write)
        except OSError as error:  # the lock file itself, a full disk: retry later
            log.warning("spool replay failed: %s", error)
            reachable = False
        if reachable and not self.store_up:
            log.warning("feedback store reachable again: spool replayed")
        if reachable is not None:
            self.store_up = reachable
        self._next_replay = time.monotonic() + self.retry_seconds
        metrics.LOG_SPOOLED.set(self.spool.rows_waiting())
