"""Rows the store refuses as invalid: isolated from their batch, set aside, counted.

A batch that the store refuses because of its data (a value it cannot hold, a constraint; see
`is_bad_row`) holds at least one bad row, and a bad row is not an outage.
`sort_out` writes such a batch row by row; the rows still refused go to
``<spool>/quarantine/<time>-<pid>-<rows>.jsonl`` in the spool's line format (an operator who
fixes the file can move it back into the spool folder to have it replayed), their reasons to
the ``.errors`` file beside it, and are counted in
``fraud_prediction_log_quarantined_rows_total{kind}``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from fraud_serving import metrics
from fraud_serving.failures import reason
from fraud_serving.wal import Batch, Item, encode

log = logging.getLogger(__name__)

_ROW_ERRORS = {"IntegrityError", "DataError"}  # SQLAlchemy's: constraint, value out of range


def is_bad_row(error: BaseException) -> bool:
    """The store refused the data (a validation error, a constraint, a value it cannot hold),
    as opposed to failing itself (unreachable, locked, schema missing, a bug): only the
    former is quarantined, the latter spooled and retried."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ValueError) or type(seen).__name__ in _ROW_ERRORS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Quarantine:
    """The quarantine folder (created on first use)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def sort_out(self, batch: Batch, write: Callable[[Batch], None]) -> Batch:
        """Write `batch` row by row and quarantine the rows refused; returns the rows not
        attempted because the store failed (from the one that met the failure)."""
        refused: list[tuple[Item, Exception]] = []
        rest: Batch = []
        for index, item in enumerate(batch):
            try:
                write([item])
            except Exception as error:
                if not is_bad_row(error):
                    rest = batch[index:]
                    break
                refused.append((item, error))
        if refused:
            self.put(refused)
        return rest

    def put(self, refused: list[tuple[Item, Exception]]) -> Path:
        """Set `refused` aside, count it, log it once with the first cause."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{time.time_ns():020d}-{os.getpid()}-{len(refused)}.jsonl"
        path.write_bytes(b"".join(encode(kind, row) for (kind, row), _ in refused))
        path.with_suffix(".errors").write_text(
            "".join(
                f"{row.get('transaction_id')} ({kind}): {reason(error)}\n"
                for (kind, row), error in refused
            ),
            encoding="utf-8",
        )
        for (kind, _), _ in refused:
            metrics.LOG_QUARANTINED.labels(kind).inc()
        (kind, row), error = refused[0]
        log.error(
            "%d prediction-log rows refused by the store, quarantined in %s; first: %s %s: %s",
            len(refused), path, kind, row.get("transaction_id"), reason(error),
        )  # fmt: skip
        return path
