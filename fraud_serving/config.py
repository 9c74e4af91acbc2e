"""Scorer configuration, read once per process from the environment.

Knobs (defaults in brackets):

- ``FRAUD_REGISTRY_POLL_SECONDS`` [10]: how often the registry aliases, the canary share, the
  threshold policy and the monitoring gauges are re-read.
- ``FRAUD_EXPLORATION_RATE`` [0.0, off]: probability of approving a transaction the model
  would block, logged with its propensity so FPR and recall are estimable without bias.
  Exploration lets some fraud through, so it is a business decision and off by default.
- ``FRAUD_EXPLORATION_MAX_AMOUNT_USD`` [100]: no exploration above this amount.
- ``FRAUD_CANARY_SALT`` [fraud-canary]: salt of the sticky per-customer canary hash; changing
  it reshuffles which customers see the canary.
- ``FRAUD_LOG_BATCH_SIZE`` [500] and ``FRAUD_LOG_FLUSH_SECONDS`` [0.5]: the prediction log
  writes a batch when it has this many rows or when its oldest row waited this long.
- ``FRAUD_LOG_RETRY_SECONDS`` [2]: while the database is down, how often the spool replay
  is retried.
- ``FRAUD_SPOOL_DIR`` [``$FRAUD_VAR_DIR/spool``, i.e. ``var/spool``]: where log rows wait on
  disk while the database is unreachable; rows the database refuses as invalid go to its
  ``quarantine/`` folder.
- ``FRAUD_WAL_DIR`` [``$FRAUD_VAR_DIR/wal``]: the prediction log's write-ahead files, one set
  per worker process (`fraud_serving.wal`). Every row is in it before its response is sent, so
  a killed worker or server loses no acknowledged prediction; the next worker to start (or a
  surviving one, within ``FRAUD_LOG_RETRY_SECONDS``) stores what a dead one left. Keep it on
  local disk, one folder per server host.
- ``FRAUD_WAL_FSYNC_SECONDS`` [1]: how often the write-ahead file is synced to disk; power
  loss (or a kernel crash) can lose the rows acknowledged in the last interval that were not
  yet committed to the database. 0 syncs each row before its response (no such window; one
  ``fdatasync`` per request, about 1.3 ms on the development machine's disk). On the SQLite
  store (``synchronous=NORMAL`` in WAL mode) power loss can also undo the last commits
  themselves; PostgreSQL's commits are durable.
- ``FRAUD_SCORER_WORKERS`` [2]: BentoML worker processes.
- ``FRAUD_MAX_BODY_BYTES`` [4 MiB]: larger request bodies get 413.
- ``FRAUD_ACCESS_LOG`` [0]: BentoML's access log line per request. Off because every scored
  transaction is already a row of the prediction log, and the line cost about a fifth of the
  server's CPU per request (`benchmarks/serving.py`). BentoML's request metrics stay on.
- ``FRAUD_TRACE_SCORING`` [0]: OpenTelemetry spans for ``/score`` and ``/score_batch``. BentoML
  samples no traces unless its ``tracing`` config says so, yet its middleware still built an
  unsampled span per request (a quarter of the per-request CPU, and the GC pressure behind the
  p99); set 1 together with that config to trace scoring. Other endpoints are always traced.

From ``fraud_core.settings``: ``FRAUD_DB_URL`` (feedback store), ``MLFLOW_TRACKING_URI``
(registry), ``FRAUD_API_KEY`` (bearer key of ``POST /feedback``; unset means every feedback
call is refused), ``FRAUD_HASH_KEY`` (keyed hash of customer ids), ``FRAUD_MODEL_NAME``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fraud_core.settings import Settings, env_number, get_settings


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r}: must be 1 or 0 (true/false)")


@dataclass(frozen=True)
class ServingConfig:
    """Everything the scorer reads from its environment (see the module docstring)."""

    settings: Settings = field(default_factory=get_settings)
    poll_seconds: float = 10.0
    exploration_rate: float = 0.0
    exploration_max_amount_usd: float = 100.0
    canary_salt: str = "fraud-canary"
    log_batch_size: int = 500
    log_flush_seconds: float = 0.5
    log_retry_seconds: float = 2.0
    spool_dir: Path = Path("var/spool")
    wal_dir: Path = Path("var/wal")
    wal_fsync_seconds: float = 1.0
    workers: int = 2
    max_body_bytes: int = 4 * 1024 * 1024
    access_log: bool = False
    trace_scoring: bool = False

    @classmethod
    def from_env(cls) -> ServingConfig:
        settings = get_settings()
        spool = os.environ.get("FRAUD_SPOOL_DIR", "").strip()
        wal = os.environ.get("FRAUD_WAL_DIR", "").strip()
        return cls(
            settings=settings,
            poll_seconds=env_number("FRAUD_REGISTRY_POLL_SECONDS", 10.0, 0.05),
            exploration_rate=env_number("FRAUD_EXPLORATION_RATE", 0.0, 0.0, 1.0),
            exploration_max_amount_usd=env_number("FRAUD_EXPLORATION_MAX_AMOUNT_USD", 100.0, 0.0),
            canary_salt=os.environ.get("FRAUD_CANARY_SALT", "").strip() or "fraud-canary",
            log_batch_size=int(env_number("FRAUD_LOG_BATCH_SIZE", 500, 1)),
            log_flush_seconds=env_number("FRAUD_LOG_FLUSH_SECONDS", 0.5, 0.01),
            log_retry_seconds=env_number("FRAUD_LOG_RETRY_SECONDS", 2.0, 0.05),
            spool_dir=Path(spool) if spool else settings.var_dir / "spool",
            wal_dir=Path(wal) if wal else settings.var_dir / "wal",
            wal_fsync_seconds=env_number("FRAUD_WAL_FSYNC_SECONDS", 1.0, 0.0),
            workers=int(env_number("FRAUD_SCORER_WORKERS", 2, 1, 64)),
            max_body_bytes=int(env_number("FRAUD_MAX_BODY_BYTES", 4 * 1024 * 1024, 1024)),
            access_log=_flag("FRAUD_ACCESS_LOG", False),
            trace_scoring=_flag("FRAUD_TRACE_SCORING", False),
        )
