"""The real scorer over HTTP: two workers, a real MLflow registry, a SQLite store.

One server is shared by the module; tests run in file order and the last ones move aliases
and break the registry, so they come after the read-only ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from fraud_core.features import FEATURE_SPEC
from fraud_core.registry import ModelRegistry
from fraud_core.store import FeedbackStore
from fraud_serving.router import routes_to_canary
from tests.fixtures.scorer import (  # noqa: F401  (fixtures)
    ScorerServer,
    module_scorer_factory,
    registry_copy,
    serving_models,
    transaction,
)

pytestmark = pytest.mark.slow

SALT = "test-salt"
API_KEY = "s3cret-key"
ACTOR = {"actor": "test_serving", "reason": "test"}


@dataclass
class Served:
    server: ScorerServer
    store: FeedbackStore
    registry: ModelRegistry
    mlflow_db: Path
    registry_models: Any

    def query(self, sql: str, **params: object) -> list[tuple]:
        with self.store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]


@pytest.fixture(scope="module")
def served(serving_models, module_scorer_factory, tmp_path_factory) -> Served:  # noqa: F811
    folder = tmp_path_factory.mktemp("serving")
    db_url = f"sqlite:///{folder / 'fraud.db'}"
    store = FeedbackStore(db_url)
    registry = registry_copy(serving_models, folder, store)
    registry.set_alias("champion", "1", **ACTOR)
    registry.set_canary("2", 10, **ACTOR)
    registry.set_alias("challenger", "3", **ACTOR)
    server = module_scorer_factory.start(
        {
            "FRAUD_DB_URL": db_url,
            "MLFLOW_TRACKING_URI": registry.tracking_uri,
            "FRAUD_API_KEY": API_KEY,
            "FRAUD_CANARY_SALT": SALT,
        },
        workers=2,
    )
    return Served(server, store, registry, folder / "mlflow.db", serving_models)


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def every_worker(server: ScorerServer, check: Callable[[dict], bool], streak: int = 8) -> bool:
    """`check(/model)` holds on `streak` fresh connections in a row (so on both workers)."""
    return all(check(httpx.get(f"{server.url}/model").json()) for _ in range(streak))


def score_batch(server: ScorerServer, start: int, count: int) -> list[dict]:
    body = {"transactions": [transaction(i) for i in range(start, start + count)]}
    response = server.client.post("/score_batch", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_model_endpoint_reports_what_is_served(served: Served) -> None:
    info = served.server.model()
    assert info["ready"] is True
    assert (info["champion"], info["canary"], info["challenger"]) == ("1", "2", "3")
    assert info["canary_percent"] == 10 and info["stage"] == "canary 10%"
    assert info["policy_version"] == "static-0.5"
    assert info["feature_spec_version"] == FEATURE_SPEC.version
    assert info["registry_error"] is None
    assert httpx.get(f"{served.server.url}/livez").status_code == 200


def zero_series(server: ScorerServer) -> dict[str, set]:
    """The label sets of the series at 0 on /metrics, by sample name."""
    found: dict[str, set] = {}
    for (name, labels), value in server.metrics().items():
        if value == 0:
            found.setdefault(name, set()).add(labels)
    return found


def expect_model_series(found: dict[str, set], variant: str, version: str) -> None:
    for outcome in ("approve", "block", "explore", "error"):
        labels = {"model_version": version, "variant": variant, "outcome": outcome}
        assert frozenset(labels.items()) in found["fraud_predictions_total"], labels


def test_series_exist_at_zero_before_the_first_request(served: Served) -> None:
    """Runs before any test scores: every series the release queries and the alerts read is
    on /metrics at 0, so Prometheus's first scrape sees 0 and increase() misses nothing."""
    found = zero_series(served.server)
    for variant, version in (("champion", "1"), ("canary", "2")):
        expect_model_series(found, variant, version)
        for name in ("fraud_prediction_latency_seconds_count", "fraud_score_count"):
            assert frozenset({"variant": variant}.items()) in found[name], (name, variant)
    for name in ("fraud_shadow_predictions_total", "fraud_shadow_failed_total"):
        assert frozenset({"model_version": "3"}.items()) in found[name], name
    for source in ("registry", "policy", "monitoring"):
        assert frozenset({"source": source}.items()) in found["fraud_scorer_read_failures_total"]
    for cause in ("unreachable", "store_error", "prediction_pending"):
        assert frozenset({"cause": cause}.items()) in found["fraud_feedback_failures_total"]


def test_canary_share_is_exact_and_sticky(served: Served) -> None:
    results = [r for start in range(0, 5000, 1000) for r in score_batch(served.server, start, 1000)]
    canary = {f"cust-{i}" for i, r in enumerate(results) if r["variant"] == "canary"}
    assert len(canary) / 5000 == pytest.approx(0.10, abs=0.02)
    assert canary == {f"cust-{i}" for i in range(5000) if routes_to_canary(f"cust-{i}", 10, SALT)}
    assert all(r["model_version"] == ("2" if r["variant"] == "canary" else "1") for r in results)
    # The same customers again, one request per fresh connection (both workers): same model.
    for i in range(0, 5000, 50):
        body = transaction(i, transaction_id=f"again-{i}")
        response = httpx.post(f"{served.server.url}/score", json=body)
        assert response.status_code == 200, response.text
        assert (response.json()["variant"] == "canary") == (f"cust-{i}" in canary)


def test_log_shadow_rows_and_metrics_across_workers(served: Served) -> None:
    scored = 5000 + 100  # by the previous test
    wait_until(
        lambda: served.query("select count(*) from shadow_predictions")[0][0] == scored,
        what="one shadow row per scored transaction",
    )
    assert served.query("select count(*) from predictions")[0][0] == scored
    assert served.query("select distinct model_version from shadow_predictions") == [("3",)]
    (disagreements,) = served.query(
        "select count(*) from shadow_predictions s join predictions p"
        " on p.transaction_id = s.transaction_id where s.decision != p.decision"
    )[0]
    assert disagreements > 0
    m = served.server.metrics()
    server = served.server
    assert server.metric("fraud_predictions_total") == scored
    assert (
        server.metric("fraud_predictions_total", variant="canary")
        == served.query("select count(*) from predictions where variant = 'canary'")[0][0]
    )
    assert server.metric("fraud_shadow_predictions_total", model_version="3") == scored
    assert server.metric("fraud_shadow_disagreements_total", model_version="3") == disagreements
    assert server.metric("fraud_prediction_latency_seconds_count") == scored
    assert server.metric("fraud_score_count", variant="champion") > 0
    assert server.metric("fraud_prediction_log_dropped_total") == 0
    assert server.metric("fraud_registry_up") == 1
    assert server.metric("fraud_canary_traffic_percent") == 10
    labels = {v for (_, ls) in m for _, v in ls}
    assert not any(v.startswith(("tx-", "again-", "cust-")) for v in labels), "id as a label"
    log = server.log_path.read_text()
    assert "fraud_scorer:1]" in log and "fraud_scorer:2]" in log, "both workers served"


def test_scoring_is_neither_access_logged_nor_traced_by_default(served: Served) -> None:
    """FRAUD_ACCESS_LOG and FRAUD_TRACE_SCORING are off: /score gets no access-log line and
    no span (BentoML sets X-BentoML-Request-ID from the span); /feedback keeps its span."""
    scored = served.server.client.post("/score", json=transaction(90_001, transaction_id="q-1"))
    assert scored.status_code == 200
    assert "x-bentoml-request-id" not in scored.headers
    feedback = served.server.client.post(
        "/feedback",
        json=label("tx-never-scored"),
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert feedback.status_code == 422 and "x-bentoml-request-id" in feedback.headers
    assert "path=/score" not in served.server.log_tail(400)


def test_access_log_and_scoring_spans_can_be_turned_on(
    served: Served,
    module_scorer_factory,  # noqa: F811
    tmp_path: Path,
) -> None:
    registry = registry_copy(served.registry_models, tmp_path, served.store)
    registry.set_alias("champion", "1", **ACTOR)
    server = module_scorer_factory.start(
        {
            "FRAUD_DB_URL": f"sqlite:///{tmp_path / 'fraud.db'}",
            "MLFLOW_TRACKING_URI": registry.tracking_uri,
            "FRAUD_ACCESS_LOG": "1",
            "FRAUD_TRACE_SCORING": "1",
        }
    )
    try:
        scored = server.client.post("/score", json=transaction(90_002, transaction_id="q-2"))
        assert scored.status_code == 200 and "x-bentoml-request-id" in scored.headers
        wait_until(lambda: "path=/score" in server.log_tail(400), what="an access-log line")
    finally:
        server.stop()


def label(tid: str, source: str = "api", value: str = "fraud") -> dict:
    reported = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {"transaction_id": tid, "label": value, "source": source, "reported_at": reported}


def test_feedback_needs_the_key_and_names_unknown_transactions(served: Served) -> None:
    client, auth = served.server.client, {"Authorization": f"Bearer {API_KEY}"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}):
        response = client.post("/feedback", json=label("tx-1"), headers=headers)
        assert response.status_code == 401
    assert served.query("select count(*) from label_events")[0][0] == 0
    response = client.post("/feedback", json=label("tx-1"), headers=auth)
    assert response.status_code == 200 and response.json()["inserted"] == 1
    batch = [label("tx-2", "dispute"), label("no-such-tx"), label("tx-3", value="legit")]
    response = client.post("/feedback", json=batch, headers=auth)
    assert response.status_code == 422
    assert "no-such-tx" in response.json()["error"]
    assert response.json()["rejected"] == [
        {"index": 1, "transaction_id": "no-such-tx", "reason": "unknown transaction_id"}
    ]
    stored = served.query("select transaction_id, source, label from label_events order by 1")
    assert stored == [
        ("tx-1", "api", "fraud"),
        ("tx-2", "dispute", "fraud"),
        ("tx-3", "api", "legit"),
    ]


BAD_SCORE_BODIES = [
    ("amount", {"amount": "lots"}),
    ("amount", {"amount": -5}),
    ("maximum", {"amount": 1e12}),
    ("currency", {"currency": "XYZ"}),
    ("customer_country", {"customer_country": "ZZ"}),
    ("event_time", {"event_time": (datetime.now(UTC) + timedelta(days=3)).isoformat()}),
    ("payment_method", {"payment_method": "cheque"}),
    ("card_present", {"card_present": "maybe"}),
    ("surprise", {"surprise": 1}),
    ("currency", {"currency": None}),
    ("event_time", {"event_time": "0001-01-01T00:00:00+14:00"}),  # before datetime.min in UTC
]


@pytest.mark.parametrize(
    ("field", "change"), BAD_SCORE_BODIES, ids=[b[0] for b in BAD_SCORE_BODIES]
)
def test_bad_transactions_get_400_naming_the_field(served: Served, field: str, change: dict):
    response = served.server.client.post("/score", json=transaction(90_000, **change))
    assert response.status_code == 400, response.text
    assert field in response.text


def test_bad_requests_get_4xx(served: Served) -> None:
    post = served.server.client.post
    auth = {"Authorization": f"Bearer {API_KEY}"}
    json_type = {"content-type": "application/json"}
    multipart = {"content-type": "multipart/form-data"}
    missing = transaction(90_001)
    del missing["currency"]
    too_many = {"transactions": [transaction(i) for i in range(1001)]}
    cases = [
        (post("/score", json=missing), 400, "currency"),
        (post("/score", content=b"{not json", headers=json_type), 400, "JSON"),
        (post("/score", content=b""), 400, "required"),
        (post("/score", json=[transaction(1)]), 400, "object"),
        (post("/score", content=b"x", headers=multipart), 415, "application/json"),
        (post("/score", content=b"a" * (5 * 1024 * 1024)), 413, "larger"),
        (post("/score_batch", json=too_many), 400, "transactions"),
        (post("/score_batch", json={"transactions": []}), 400, "transactions"),
        (post("/feedback", content=b"\x00", headers=auth), 400, "JSON"),
        (post("/feedback", json=label("tx-1", value="maybe"), headers=auth), 400, "label"),
        (post("/feedback", content=b"[" * 10**5 + b"]" * 10**5, headers=auth), 400, "deeply"),
        (post("/score", content=b"[" * 10**5 + b"]" * 10**5), 400, "recursion"),
        (
            post(
                "/feedback",
                json={**label("tx-1"), "reported_at": "0001-01-01T00:00+14:00"},
                headers=auth,
            ),
            400,
            "reported_at",
        ),
    ]
    for response, status, words in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert words in response.text
    assert served.server.process.poll() is None


def test_fuzzed_requests_never_get_5xx(served: Served) -> None:
    """Schemathesis cases from the service's OpenAPI document, valid and invalid."""
    import schemathesis

    url = served.server.url
    document = httpx.get(f"{url}/docs.json").json()
    # BentoML labels the document 3.0.2 but embeds pydantic's JSON Schema 2020-12
    # (numeric exclusiveMinimum), which is what OpenAPI 3.1 uses.
    document["openapi"] = "3.1.0"
    schema = schemathesis.openapi.from_dict(document)
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().method == "post"]
    assert {op.path for op in operations} == {"/score", "/score_batch", "/feedback"}
    failures: list[tuple] = []
    headers = {"Authorization": f"Bearer {API_KEY}"}

    def fuzz(operation, mode) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case) -> None:
            response = case.call(base_url=url, headers=headers)
            if response.status_code >= 500:
                failures.append((operation.path, response.status_code, case.body))

        run()

    for operation in operations:
        fuzz(operation, schemathesis.GenerationMode.POSITIVE)
        fuzz(operation, schemathesis.GenerationMode.NEGATIVE)
    assert not failures, failures[:3]
    assert served.server.process.poll() is None


def test_alias_moves_are_followed_without_restart(served: Served) -> None:
    server, registry = served.server, served.registry
    registry.promote("2", **ACTOR)  # champion 2, previous 1; the canary (2) is cleared
    wait_until(
        lambda: every_worker(server, lambda m: m["champion"] == "2" and m["canary"] is None),
        what="champion 2 on every worker",
    )
    expect_model_series(zero_series(server), "champion", "2")  # promoted: at 0 before use
    for i in range(40):
        response = httpx.post(f"{server.url}/score", json=transaction(95_000 + i))
        assert (response.json()["model_version"], response.json()["variant"]) == ("2", "champion")
    assert server.metric("fraud_canary_traffic_percent") == 0


def test_a_version_that_fails_to_load_is_not_served(served: Served) -> None:
    server, registry = served.server, served.registry
    failures = server.metric("fraud_model_load_failures_total")
    registry.set_alias("challenger", "4", **ACTOR)  # trained on another feature spec
    wait_until(
        lambda: every_worker(
            server, lambda m: m["challenger"] is None and "version 4" in (m["registry_error"] or "")
        ),
        what="the load failure reported by every worker",
    )
    assert "feature spec" in server.model()["registry_error"]
    assert server.metric("fraud_model_load_failures_total") > failures
    response = server.client.post("/score", json=transaction(96_000))
    assert response.status_code == 200 and response.json()["model_version"] == "2"
    registry.set_alias("challenger", "3", **ACTOR)
    wait_until(
        lambda: every_worker(
            server, lambda m: m["challenger"] == "3" and m["registry_error"] is None
        ),
        what="challenger 3 loaded",
    )


def test_registry_outage_keeps_the_last_good_model(served: Served) -> None:
    server = served.server
    healthy = served.mlflow_db.read_bytes()
    try:
        served.mlflow_db.write_bytes(b"this is not a database" * 4096)
        wait_until(
            lambda: every_worker(server, lambda m: "unreachable" in (m["registry_error"] or "")),
            what="registry outage noticed",
        )
        assert server.metric("fraud_registry_up") == 0
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        for i in range(20):
            response = httpx.post(f"{server.url}/score", json=transaction(97_000 + i))
            assert response.status_code == 200 and response.json()["model_version"] == "2"
    finally:
        served.mlflow_db.write_bytes(healthy)
    wait_until(
        lambda: every_worker(server, lambda m: m["registry_error"] is None),
        what="registry back",
    )
    wait_until(lambda: server.metric("fraud_registry_up") == 1, what="fraud_registry_up back to 1")
