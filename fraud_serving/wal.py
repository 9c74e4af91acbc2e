"""Write-ahead file of the prediction log: a row is in the kernel before its response is sent.

Each process appends its prediction rows as JSON lines to its own segment, ``<tag>-<seq>.wal``
in the WAL folder (`FRAUD_WAL_DIR`), with one ``os.write`` on an ``O_APPEND`` descriptor: once
`append` returns, the row survives a SIGKILL of the process (the kernel owns the page). The
writer `seal`s the current segment (new rows go to a fresh one), writes the sealed rows to the
store or the spool, then `discard`s the sealed segments.

Each process holds an exclusive ``flock`` on ``<tag>.lock`` for its lifetime. The kernel
releases it when the process dies, however it dies, so `recover` finds the segments of dead
processes by taking their locks (never by trusting pids, which get reused) and hands their rows
to the store; the store's inserts skip rows already stored, so recovery is exactly-once.

Power loss also loses the page cache. A thread ``fdatasync``s the current segment every
`fsync_seconds` (`FRAUD_WAL_FSYNC_SECONDS`, default 1): power loss can lose at most the rows
acknowledged in the last `fsync_seconds` that were not yet committed to the store (rows
reach the store within `FRAUD_LOG_FLUSH_SECONDS`, or the fsynced spool while it is down).
``0`` syncs every row before its response (one ``fdatasync`` per request, about 1.3 ms on
the development machine's disk).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import msgspec

from fraud_serving import metrics

log = logging.getLogger(__name__)

Kind = Literal["prediction", "shadow"]
Item = tuple[Kind, dict[str, Any]]
Batch = list[Item]
_DATETIME_FIELDS = ("event_time", "scored_at")


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (msgspec's hook for types it does not know)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot log a {type(value).__name__}")


_ENCODER = msgspec.json.Encoder(enc_hook=_plain)


def encode(kind: Kind, row: dict[str, Any]) -> bytes:
    """One log row as a JSON line (datetimes as RFC 3339)."""
    return _ENCODER.encode({"kind": kind, "row": row}) + b"\n"


def decode(line: bytes | str) -> Item:
    item = msgspec.json.decode(line)
    row = item["row"]
    for name in _DATETIME_FIELDS:
        if isinstance(row.get(name), str):
            row[name] = datetime.fromisoformat(row[name])
    return item["kind"], row


def read_lines(path: Path) -> tuple[Batch, int]:
    """The rows of a JSON-lines file, and how many lines could not be decoded (a line torn by
    power loss, or the zeros a file system may show after one)."""
    rows, torn = [], 0
    for line in path.read_bytes().splitlines():
        if not line.strip(b"\0 \t"):
            continue
        try:
            rows.append(decode(line))
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            torn += 1
    return rows, torn


class Segment:
    """One open segment file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


class WriteAheadLog:
    """This process's segments in `directory`, and recovery of dead processes' segments."""

    def __init__(self, directory: Path, fsync_seconds: float = 1.0) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync_seconds = fsync_seconds
        self.tag = f"{os.getpid()}-{time.time_ns()}"
        # Locked under a temporary name, then renamed: a recoverer never sees it unlocked.
        temporary = self.directory / f".{self.tag}.lock.tmp"
        self._lock_file = temporary.open("w")
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        self.lock_path = self.directory / f"{self.tag}.lock"
        temporary.replace(self.lock_path)
        self._seq = 0
        self._current = self._new_segment()
        self._sealed: list[Segment] = []
        self._fd_lock = threading.Lock()  # the sync thread never syncs a closed descriptor
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None
        if fsync_seconds > 0:
            self._syncer = threading.Thread(target=self._sync_loop, name="wal-sync", daemon=True)
            self._syncer.start()

    def _new_segment(self) -> Segment:
        self._seq += 1
        return Segment(self.directory / f"{self.tag}-{self._seq:09d}.wal")

    def append(self, line: bytes) -> None:
        """Write one encoded row; raises OSError (disk full, ...) if the kernel refuses it."""
        fd = self._current.fd
        written = os.write(fd, line)
        if written != len(line):  # a short write on a regular file: the disk is full
            raise OSError(f"short write to {self._current.path}: {written} of {len(line)} bytes")
        if self.fsync_seconds <= 0:
            os.fdatasync(fd)

    def seal(self) -> list[Segment]:
        """Start a new segment; the sealed ones (all rows appended so far) to discard later.

        The caller serializes this with `append` (the prediction log's lock)."""
        self._sealed.append(self._current)
        self._current = self._new_segment()
        return list(self._sealed)

    def discard(self, segments: list[Segment]) -> None:
        """Delete sealed segments whose rows are in the store or the spool."""
        for segment in segments:
            with self._fd_lock:
                os.close(segment.fd)
                if segment in self._sealed:
                    self._sealed.remove(segment)
            segment.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop syncing and delete this process's files (every row must be stored by now)."""
        self._stop.set()
        if self._syncer is not None:
            self._syncer.join(5)
        self.discard([*self._sealed, self._current])
        self.lock_path.unlink(missing_ok=True)
        self._lock_file.close()

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.fsync_seconds):
            try:
                with self._fd_lock:
                    for segment in (*self._sealed, self._current):
                        os.fdatasync(segment.fd)
            except OSError as error:
                metrics.LOG_DISK_ERRORS.inc()
                log.error("WAL fsync failed: %s", error)

    def recover(self, handle: Callable[[Batch], None]) -> int:
        """Hand the rows of every dead process's segments to `handle` (oldest first), then
        delete them; the number of rows recovered. Lines that cannot be decoded are lost rows
        (counted as dropped)."""
        recovered = 0
        for lock_path in sorted(self.directory.glob("*.lock")):
            if lock_path == self.lock_path:
                continue
            try:
                owner = lock_path.open("a")
            except FileNotFoundError:
                continue  # recovered by another process meanwhile
            with owner:
                try:
                    fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its process is alive
                recovered += self._recover_owner(lock_path.stem, handle)
                # Only now: a recoverer that opened the lock before this sees no segments left.
                lock_path.unlink(missing_ok=True)
        return recovered

    def _recover_owner(self, tag: str, handle: Callable[[Batch], None]) -> int:
        recovered = 0
        for path in sorted(self.directory.glob(f"{tag}-*.wal")):
            rows, torn = read_lines(path)
            if torn:
                metrics.LOG_DROPPED.inc(torn)
                log.error("%d undecodable lines in %s (torn by a crash): rows lost", torn, path)
            if rows:
                handle(rows)
                metrics.LOG_RECOVERED.inc(len(rows))
                log.warning("recovered %d rows from %s (a dead process's WAL)", len(rows), path)
            recovered += len(rows)
            path.unlink(missing_ok=True)
        return recovered
