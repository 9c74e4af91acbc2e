"""The prediction log: rows leave the request path through a write-ahead file and a queue, and
reach the store in batches; while the store is unreachable they wait in a disk spool.

- `put(kind, row)` appends a prediction row to this process's write-ahead file
  (`fraud_serving.wal`: in the kernel before the response is sent, so a killed process loses no
  served prediction) and every row to a queue; it never touches the database. One writer thread
  per process takes everything queued every `flush_seconds` (sooner from `batch_size` rows),
  writes it in batches of `batch_size`, then deletes the write-ahead segments that held it. At
  start and every `retry_seconds` it also recovers the segments of dead processes into the
  store.
- A batch that cannot be written because the store fails is appended to the spool as
  one fsynced file (``<process-start>-<pid>-<seq>-<rows>.jsonl``, written to a temp name then
  renamed). While this process has spool files left, new batches go to the spool too.
- Every `retry_seconds` one process (an exclusive `flock` on the spool directory) replays all
  spool files in name order and deletes each once written. The store's inserts are idempotent
  (predictions on transaction_id, shadow rows on (transaction_id, model_version)), so a replay
  or a recovery after a partial write or a crash never duplicates a row.
- A batch that the store refuses for its data (`fraud_serving.quarantine.is_bad_row`) is
  written row by row and the rows it still refuses are quarantined: a bad row is counted and
  set aside, never taken for an outage. Any other failure (unreachable, locked, a missing
  table, a bug) spools the batch and retries it.
- `close()` drains the queue (to the store, or the spool if it is down) and deletes this
  process's write-ahead files.

Without a write-ahead log (``wal=None``: the in-process replay) a killed process loses its queue.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgspec

from fraud_serving import metrics
from fraud_serving.failures import FailureLog, reason
from fraud_serving.quarantine import Quarantine, is_bad_row
from fraud_serving.wal import Batch, Kind, WriteAheadLog, encode, read_lines

log = logging.getLogger(__name__)


class Spool:
    """Batches waiting on disk, one JSON-lines file per batch, shared by all workers."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.quarantine = Quarantine(self.directory / "quarantine")
        self._prefix = f"{time.time_ns():020d}-{os.getpid()}"
        self._seq = 0

    def files(self, own: bool = False) -> list[Path]:
        pattern = f"{self._prefix}-*.jsonl" if own else "*.jsonl"
        return sorted(self.directory.glob(pattern))

    def rows_waiting(self) -> int:
        return sum(int(p.stem.rsplit("-", 1)[1]) for p in self.files())

    def append(self, batch: Batch) -> Path:
        self._seq += 1
        return self._write_file(f"{self._prefix}-{self._seq:09d}", batch)

    def _write_file(self, stem: str, batch: Batch) -> Path:
        """`batch` as ``<stem>-<rows>.jsonl``, fsynced under a temp name, then renamed."""
        name = f"{stem}-{len(batch)}.jsonl"
        tmp = self.directory / f".{name}.tmp"
        with tmp.open("wb") as fh:
            fh.writelines(encode(kind, row) for kind, row in batch)
            fh.flush()
            os.fsync(fh.fileno())
        final = self.directory / name
        tmp.replace(final)
        return final

    def replay(self, write: Callable[[Batch], None]) -> bool | None:
        """Write every spool file in name order, deleting each once written.

        Returns False when the store still fails (stops at the first failure that is not a bad
        row), None when another process holds the replay lock, True otherwise. A file holding
        rows the store refuses is written row by row and its refused rows quarantined.
        """
        with (self.directory / ".replay.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            for path in self.files():
                try:
                    rows, _ = read_lines(path)  # fsynced before its rename: never torn
                except FileNotFoundError:
                    continue  # replayed and removed by another process meanwhile
                try:
                    write(rows)
                except Exception as error:
                    if not is_bad_row(error):
                        return False
                    rest = self.quarantine.sort_out(rows, write)
                    if rest:  # the store went away midway: keep only what is left
                        if len(rest) < len(rows):
                            self._write_file(path.stem.rsplit("-", 1)[0], rest)
                            path.unlink(missing_ok=True)
                        return False
                path.unlink(missing_ok=True)
            return True


class PredictionLog:
    """Write-ahead file + queue + batch writer + disk spool in front of the feedback store."""

    def __init__(
        self,
        store: Any,
        spool_dir: Path,
        batch_size: int = 500,
        flush_seconds: float = 0.5,
        retry_seconds: float = 2.0,
        max_queue: int = 200_000,
        wal: WriteAheadLog | None = None,
    ) -> None:
        self.store = store
        self.spool = Spool(spool_dir)
        self.wal = wal
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self.max_queue = max_queue
        self._rows: deque[tuple[Kind, dict[str, Any]]] = deque()
        self._lock = threading.Lock()  # a row enters the WAL and the queue together
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._stopping = threading.Event()
        self._next_replay = 0.0
        self._next_recovery = 0.0
        self._failures = FailureLog(log)
        self.store_up = True

    def start(self) -> PredictionLog:
        self._thread.start()
        return self

    def has_room(self, rows: int) -> bool:
        """Whether `rows` more predictions fit under `max_queue` (the scorer asks before it
        decides: a served decision is never dropped, a full log refuses the request)."""
        return len(self._rows) + rows <= self.max_queue

    def put(self, kind: Kind, row: dict[str, Any]) -> bool:
        """Queue one row, a prediction first into the write-ahead file (if any). A prediction
        is always queued (its response is being sent; the scorer checked `has_room` before
        deciding); another row is dropped, counted, and False returned if `max_queue` rows
        are waiting. The writer drains the queue on its own clock: no wake-up per row.

        Shadow rows skip the write-ahead file (half of its cost): the shadow's own queue is in
        memory, so a killed process loses its recent shadow sample either way, never a served
        decision."""
        if kind != "prediction" and len(self._rows) >= self.max_queue:
            metrics.LOG_DROPPED.inc()
            log.error("prediction log queue full: dropped a %s row", kind)
            return False
        if self.wal is None or kind != "prediction":
            self._rows.append((kind, row))
            return True
        with self._lock:
            try:
                self.wal.append(encode(kind, row))
            except (OSError, TypeError) as error:  # kept in memory: stored unless we crash
                metrics.LOG_DISK_ERRORS.inc()
                self._failures.failed("write-ahead append", error)
            else:
                self._failures.recovered("write-ahead append")
            self._rows.append((kind, row))
        return True

    def pending(self) -> int:
        return len(self._rows)

    def holds(self, transaction_ids: Iterable[str]) -> set[str]:
        """Those of `transaction_ids` scored but maybe not stored yet, by any worker of this
        folder: in this log's queue, a write-ahead segment or a spool file. Read only when a
        label names a transaction the store does not know."""
        needles = {t: msgspec.json.encode(t) for t in transaction_ids}  # as `encode` writes
        found = {row["transaction_id"] for _, row in list(self._rows)} & needles.keys()
        files = self.spool.files()
        if self.wal is not None:
            files += sorted(self.wal.directory.glob("*.wal"))
        for path in files:
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # stored (or spooled) meanwhile
                continue
            found |= {t for t, needle in needles.items() if needle in data}
        return found

    def flush(self) -> None:
        """Write everything queued now, in the caller's thread (for a log that was never
        started: the replay writes each simulated hour before the platform looks at it)."""
        self._drain()

    def close(self, timeout: float = 30.0) -> None:
        """Drain the queue to the store (or the spool if it is down) and stop the writer."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self.wal is not None and not self._rows:
            self.wal.close()

    def _drain(self) -> None:
        """Write everything queued, then delete the write-ahead segments that held it."""
        with self._lock:
            rows = [self._rows.popleft() for _ in range(len(self._rows))]
            sealed = self.wal.seal() if self.wal is not None and rows else []
        done = 0
        try:
            for done in range(0, len(rows), self.batch_size):
                self._handle(rows[done : done + self.batch_size])
        except BaseException:  # the spool cannot be written: keep the rest queued
            with self._lock:
                self._rows.extendleft(reversed(rows[done:]))
            raise
        if sealed:
            self.wal.discard(sealed)

    def _run(self) -> None:
        while True:
            stopping = self._stopping.is_set()
            if len(self._rows) < self.batch_size:
                self._stopping.wait(self.flush_seconds)
            try:
                self._drain()
                self._failures.recovered("prediction log write")
                if time.monotonic() >= self._next_recovery and self.wal is not None:
                    self.wal.recover(self._handle_all)
                    self._next_recovery = time.monotonic() + self.retry_seconds
                if self.spool.files():
                    self._replay(force=stopping)
            except Exception as error:  # a full or failing disk: retry on the next round
                metrics.LOG_DISK_ERRORS.inc()
                self._failures.failed("prediction log write", error)
                if stopping:
                    return
            if stopping and not self._rows:
                return

    def _write(self, batch: Batch) -> None:
        predictions = [row for kind, row in batch if kind == "prediction"]
        shadows = [row for kind, row in batch if kind == "shadow"]
        if predictions:
            self.store.insert_predictions(predictions)
        if shadows:
            self.store.insert_shadow_predictions(shadows)

    def _handle_all(self, rows: Batch) -> None:
        for start in range(0, len(rows), self.batch_size):
            self._handle(rows[start : start + self.batch_size])

    def _handle(self, batch: Batch) -> None:
        if self.store_up and not self.spool.files(own=True):
            try:
                self._write(batch)
                return
            except Exception as error:
                if is_bad_row(error):
                    batch = self.spool.quarantine.sort_out(batch, self._write)
                    if not batch:
                        return
                self._mark_down(error)
        self.spool.append(batch)
        metrics.LOG_SPOOLED.set(self.spool.rows_waiting())

    def _mark_down(self, error: Exception) -> None:
        if self.store_up:
            log.warning("feedback store failing, spooling prediction rows: %s", reason(error))
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
