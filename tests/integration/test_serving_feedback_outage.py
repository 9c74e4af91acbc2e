"""`POST /feedback` while the store is down: 503 with Retry-After, counted, logged once, nothing
acknowledged that is not stored; it works again when the store returns. `/score` answers
through the same outage (its rows spool).

A real scorer (two workers) reaches PostgreSQL through a TCP proxy that the test cuts
(`tests.fixtures.tcp_proxy`); at the end the store's schema is dropped (a store that answers
but has lost its tables).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fraud_core.settings import normalize_db_url
from fraud_core.store import FeedbackStore
from tests.fixtures.scorer import (  # noqa: F401  (fixtures)
    registry_copy,
    scorer_factory,
    serving_models,
    transaction,
)
from tests.fixtures.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

API_KEY = "feedback-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
ACTOR = {"actor": "test_serving_feedback_outage", "reason": "test"}


def label(tid: str) -> dict:
    reported = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    return {"transaction_id": tid, "label": "fraud", "source": "dispute", "reported_at": reported}


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_feedback_answers_503_while_the_store_is_down_and_loses_nothing(
    pg_schema_factory,
    serving_models,  # noqa: F811
    scorer_factory,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    direct = make_url(pg_schema_factory())
    schema = dict(direct.query)["options"].split("=")[-1]
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432).start()
    request.addfinalizer(proxy.close)
    proxied = direct.set(host="127.0.0.1", port=proxy.port)
    direct_url = direct.render_as_string(hide_password=False)
    store = FeedbackStore(direct_url)
    engine = create_engine(normalize_db_url(direct_url))

    def stored(sql: str) -> list[tuple]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    registry = registry_copy(serving_models, tmp_path / "registry", store)
    registry.set_alias("champion", "1", **ACTOR)
    server = scorer_factory.start(
        {
            "FRAUD_DB_URL": proxied.render_as_string(hide_password=False),
            "MLFLOW_TRACKING_URI": registry.tracking_uri,
            "FRAUD_API_KEY": API_KEY,
            "FRAUD_LOG_RETRY_SECONDS": "0.5",
        },
        workers=2,
    )
    post = server.client.post
    try:
        for i in range(10):
            assert post("/score", json=transaction(i, transaction_id=f"fo-{i}")).status_code == 200
        wait_until(
            lambda: stored("select count(*) from predictions")[0][0] == 10, 30, "10 predictions"
        )
        assert post("/feedback", json=label("fo-0"), headers=AUTH).status_code == 200

        proxy.cut()
        refused = []
        for i in range(1, 9):  # fresh connections: both workers meet the outage
            response = httpx.post(f"{server.url}/feedback", json=[label(f"fo-{i}")], headers=AUTH)
            refused.append(response)
        for response in refused:
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "1"
            body = response.json()
            assert body["cause"] == "unreachable"
            assert "feedback store unavailable, nothing stored" in body["error"]
        during = [transaction(100 + i, transaction_id=f"fo-out-{i}") for i in range(20)]
        assert all(post("/score", json=body).status_code == 200 for body in during)
        assert server.metric("fraud_feedback_failures_total", cause="unreachable") == 8
        assert server.metric("fraud_feedback_failures_total", cause="store_error") == 0
        assert stored("select transaction_id from label_events") == [("fo-0",)]
        logged = server.log_tail(400).count("storing feedback (unreachable) failed")
        assert 1 <= logged <= 2, f"logged {logged} times for 8 failures over 2 workers"
    finally:
        proxy.restore()

    # The client retries what was refused: every label stored once. A label for a
    # transaction scored during the outage is never refused as unknown: 503 until its
    # prediction row has left the spool, then 200.
    batch = [label(f"fo-{i}") for i in range(1, 9)]
    wait_until(
        lambda: post("/feedback", json=batch, headers=AUTH).status_code == 200, 30, "feedback"
    )
    statuses = set()

    def outage_label_stored() -> bool:
        response = post("/feedback", json=label("fo-out-0"), headers=AUTH)
        statuses.add(response.status_code)
        return response.status_code == 200

    wait_until(outage_label_stored, 30, "the label of a transaction scored during the outage")
    assert statuses <= {200, 503}, statuses
    assert stored("select count(*), count(distinct transaction_id) from label_events") == [(10, 10)]
    assert "storing feedback (unreachable) works again" in server.log_tail(400)

    # A store that answers but lost its tables: 503 too, counted under its own cause.
    with psycopg.connect(f"postgresql://{direct.username}@{direct.host}:{direct.port}/"
                         f"{direct.database}", autocommit=True) as conn:  # fmt: skip
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    response = post("/feedback", json=label("fo-9"), headers=AUTH)
    assert response.status_code == 503 and response.json()["cause"] == "store_error"
    assert server.metric("fraud_feedback_failures_total", cause="store_error") == 1
    assert server.process.poll() is None
    engine.dispose()
