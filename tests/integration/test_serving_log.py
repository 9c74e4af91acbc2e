"""The prediction log loses nothing when PostgreSQL goes away mid-load.

The scorer reaches PostgreSQL through a TCP proxy owned by this test; cutting the proxy drops
every open connection and refuses new ones, exactly what the scorer sees when the database
host goes down, without stopping the PostgreSQL server that other tests share.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fraud_core.settings import normalize_db_url
from fraud_core.store import FeedbackStore
from fraud_serving.prediction_log import PredictionLog, Spool
from tests.fixtures.scorer import (  # noqa: F401  (fixtures)
    registry_copy,
    scorer_factory,
    serving_models,
    transaction,
)
from tests.fixtures.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ACTOR = {"actor": "test_serving_log", "reason": "test"}


@dataclass
class Database:
    direct_url: str
    proxied_url: str

    def count(self, table: str, prefix: str) -> int:
        """Rows of `table` for transactions starting with `prefix` (asserting no duplicates)."""
        engine = create_engine(normalize_db_url(self.direct_url))
        try:
            with engine.connect() as conn:
                total, distinct = conn.execute(
                    text(
                        f"select count(*), count(distinct transaction_id) from {table}"
                        " where transaction_id like :p"
                    ),
                    {"p": f"{prefix}%"},
                ).one()
        finally:
            engine.dispose()
        assert total == distinct, f"duplicate {table} rows"
        return total


@pytest.fixture
def database(pg_schema_factory) -> Iterator[tuple[Database, TcpProxy]]:
    """A fresh schema on the shared PostgreSQL, reached directly and through a proxy."""
    direct = make_url(pg_schema_factory())
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432).start()
    proxied = direct.set(host="127.0.0.1", port=proxy.port)
    try:
        yield (
            Database(
                direct.render_as_string(hide_password=False),
                proxied.render_as_string(hide_password=False),
            ),
            proxy,
        )
    finally:
        proxy.close()


def send(url: str, ids: list[int], accepted: list[str], workers: int = 8) -> None:
    """POST /score for each id over `workers` keep-alive clients; record the accepted ones."""
    local = threading.local()

    def one(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=30)
        body = transaction(i, transaction_id=f"ll-{i}")
        if local.client.post("/score", json=body).status_code == 200:
            accepted.append(body["transaction_id"])

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, ids))


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_database_outage_mid_load_loses_and_duplicates_nothing(
    database,
    serving_models,  # noqa: F811
    scorer_factory,  # noqa: F811
    tmp_path: Path,
) -> None:
    db, proxy = database
    store = FeedbackStore(db.direct_url)
    registry = registry_copy(serving_models, tmp_path / "registry", store)
    registry.set_alias("champion", "1", **ACTOR)
    registry.set_alias("challenger", "3", **ACTOR)
    server = scorer_factory.start(
        {
            "FRAUD_DB_URL": db.proxied_url,
            "MLFLOW_TRACKING_URI": registry.tracking_uri,
            "FRAUD_LOG_BATCH_SIZE": "50",
            "FRAUD_LOG_RETRY_SECONDS": "0.3",
        },
        workers=2,
    )
    spool = Path(server.env["FRAUD_VAR_DIR"]) / "spool"
    accepted: list[str] = []
    load = threading.Thread(target=send, args=(server.url, list(range(1000)), accepted))
    load.start()
    try:
        wait_until(lambda: len(accepted) >= 200, 60, "200 accepted requests")
        proxy.cut()
        wait_until(lambda: len(accepted) >= 600, 60, "600 accepted requests")
        wait_until(lambda: Spool(spool).rows_waiting() > 0, 20, "rows spooled to disk")
        assert server.metric("fraud_prediction_log_spooled_rows") > 0
    finally:
        proxy.restore()
        load.join(120)
    assert len(accepted) == 1000, "every request is answered while the database is down"
    wait_until(
        lambda: db.count("predictions", "ll-") == 1000 and db.count("shadow_predictions", "ll-"),
        60,
        "the spool replayed",
    )
    wait_until(lambda: db.count("shadow_predictions", "ll-") == 1000, 30, "shadow rows")
    wait_until(lambda: Spool(spool).rows_waiting() == 0, 10, "an empty spool")
    assert server.metric("fraud_prediction_log_dropped_total") == 0
    assert server.metric("fraud_prediction_log_spooled_rows") == 0
    assert server.metric("fraud_predictions_total") == 1000

    # Shutdown with the database down: the queue is flushed to the spool, and a later
    # process on the same spool directory replays it.
    proxy.cut()
    late: list[str] = []
    send(server.url, list(range(1000, 1200)), late)
    assert len(late) == 200
    assert server.stop() == 0
    assert Spool(spool).rows_waiting() == 400  # 200 predictions + 200 shadow rows
    proxy.restore()
    PredictionLog(store, spool).start().close()
    assert db.count("predictions", "ll-") == 1200
    assert db.count("shadow_predictions", "ll-") == 1200
    assert Spool(spool).rows_waiting() == 0
