"""SIGKILL under load loses no acknowledged prediction (issue 13, item 1).

The real scorer (2 workers) takes POST /score at concurrency 8; half-way one worker is killed
with SIGKILL, later the whole server (every process) while the load goes on, and a new server
(one worker) starts on the same folders. Every transaction that got a 200 must be stored
exactly once (the store's unique keys would refuse a duplicate; the counts check it too), and
the prediction log's counters must say what happened: rows recovered, none dropped. The log
flushes every 2 s, so each kill finds rows that only the write-ahead file holds.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import select

from fraud_core.store.models import predictions, shadow_predictions
from tests.fixtures.scorer import (  # noqa: F401  (fixtures)
    ScorerServer,
    registry_copy,
    scorer_factory,
    serving_models,
    transaction,
)

pytestmark = pytest.mark.slow

ACTOR = {"actor": "test_serving_crash", "reason": "test"}


class Load:
    """POST /score for `ids` over 8 keep-alive clients in a thread; `acknowledged` holds the
    transaction ids answered 200 (a refused or cut connection is not an acknowledgement)."""

    def __init__(self, url: str, ids: range) -> None:
        self.url, self.ids = url, ids
        self.acknowledged: list[str] = []
        self.failed = 0
        self._local = threading.local()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _one(self, i: int) -> None:
        if not hasattr(self._local, "client"):
            self._local.client = httpx.Client(base_url=self.url, timeout=10)
        body = transaction(i, transaction_id=f"crash-{i}")
        try:
            ok = self._local.client.post("/score", json=body).status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            self.acknowledged.append(body["transaction_id"])
        else:
            self.failed += 1

    def _run(self) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self._one, self.ids))

    def wait_for(self, count: int) -> None:
        wait_until(lambda: len(self.acknowledged) >= count, 60, f"{count} acknowledged")

    def join(self) -> None:
        self.thread.join(120)
        assert not self.thread.is_alive()


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def workers(server: ScorerServer) -> list[psutil.Process]:
    tree = psutil.Process(server.process.pid).children(recursive=True)
    return [p for p in tree if "--worker-id" in p.cmdline()]


def stored(store, table) -> set[str]:
    with store.engine.connect() as conn:  # one statement: the writers commit meanwhile
        ids = list(conn.scalars(select(table.c.transaction_id)))
    assert len(ids) == len(set(ids)), f"duplicate {table.name} rows"
    return set(ids)


def test_sigkill_of_a_worker_and_of_the_server_loses_no_acknowledged_prediction(
    db_url: str,
    store,
    serving_models,  # noqa: F811
    scorer_factory,  # noqa: F811
    tmp_path: Path,
) -> None:
    registry = registry_copy(serving_models, tmp_path / "registry", store)
    registry.set_alias("champion", "1", **ACTOR)
    registry.set_alias("challenger", "3", **ACTOR)
    env = {
        "FRAUD_DB_URL": db_url,
        "MLFLOW_TRACKING_URI": registry.tracking_uri,
        "FRAUD_LOG_FLUSH_SECONDS": "2",
        "FRAUD_LOG_BATCH_SIZE": "100000",
    }
    server = scorer_factory.start(env, workers=2)

    # 1. One worker killed half-way through 1,000 requests; BentoML restarts it.
    load = Load(server.url, range(1000))
    load.wait_for(400)
    victim = workers(server)[0]
    victim.send_signal(signal.SIGKILL)
    load.join()
    first = set(load.acknowledged)
    assert len(first) >= 900, f"only {len(first)} answered"
    wait_until(lambda: first <= stored(store, predictions), 30, "acknowledged rows stored")
    assert server.metric("fraud_prediction_log_recovered_rows_total") > 0
    assert server.metric("fraud_prediction_log_dropped_total") == 0
    assert server.metric("fraud_prediction_log_quarantined_rows_total") == 0

    # 2. The whole server killed mid-load, then restarted on the same folders.
    load = Load(server.url, range(1000, 2000))
    load.wait_for(400)
    server.kill()
    load.join()
    second = set(load.acknowledged)
    assert second and not second <= stored(store, predictions), "nothing left to recover"
    restarted = scorer_factory.start(env, workers=1, root=server.root)
    wait_until(lambda: second <= stored(store, predictions), 30, "recovered rows stored")
    assert restarted.metric("fraud_prediction_log_recovered_rows_total") > 0
    assert restarted.metric("fraud_prediction_log_dropped_total") == 0
    everything = stored(store, predictions)
    assert first | second <= everything
    assert everything <= {f"crash-{i}" for i in range(2000)}
    assert stored(store, shadow_predictions) <= everything
    wal = Path(restarted.env["FRAUD_VAR_DIR"]) / "wal"
    assert len(list(wal.glob("*.lock"))) == 1  # only the live worker's files remain
