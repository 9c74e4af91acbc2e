"""End to end with the real scorer over HTTP: a good candidate goes shadow -> 10 -> 25 -> 50 ->
100 % -> champion, and a manual rollback restores the previous champion; a bad candidate (it
blocks far more customers) is rolled back automatically at its first canary stage, and the
customers outside the canary never saw it.

The sensors are evaluated with `build_sensor_context` and their runs executed in process;
the scorer follows the registry by polling (every 0.5 s), logs to the same store, and its
`/metrics` feed the canary's error rate and p99 latency. Stages last seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import count

import pytest

from fraud_serving.router import routes_to_canary
from tests.fixtures.dagster_platform import platform
from tests.fixtures.release import Release, release
from tests.fixtures.scorer import scorer_factory, serving_models, transaction

__all__ = ["platform", "release", "scorer_factory", "serving_models"]  # fixtures

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]
SALT = "fraud-canary"  # the scorer's default
CUSTOMERS = 1000
_tx = count()


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> float:
    """Seconds until `check()` held."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


def traffic(server, n: int = CUSTOMERS, small: bool = False) -> list[dict]:
    """One payment per customer cust-0 .. cust-(n-1), fresh transaction ids; `small`: all
    under 300 (which version 1 approves and version 3 blocks)."""
    base = next(_tx) * n
    txs = [
        transaction(
            i, transaction_id=f"e2e-{base + i}", **({"amount": 5 + i % 290} if small else {})
        )
        for i in range(n)
    ]
    body = {"transactions": txs}
    response = server.client.post("/score_batch", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def stored(release: Release, version: str, variant: str) -> int:
    from sqlalchemy import func, select

    from fraud_core.store.models import predictions as p

    stmt = select(func.count()).where(p.c.model_version == version, p.c.variant == variant)
    with release.platform.store.engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def start_scorer(release: Release, scorer_factory, db_url: str, monkeypatch):
    server = scorer_factory.start(
        {"FRAUD_DB_URL": db_url, "MLFLOW_TRACKING_URI": release.registry.tracking_uri}
    )
    monkeypatch.setenv("FRAUD_SCORER_URL", server.url)
    monkeypatch.setenv("FRAUD_STAGE_MIN_SAMPLES", "60")
    monkeypatch.setenv("FRAUD_STAGE_MIN_SECONDS", "1")
    monkeypatch.setenv("FRAUD_SHADOW_MIN_ROWS", str(CUSTOMERS))
    from fraud_assets.definitions import defs

    release.platform.defs = defs()  # the release plan binds when the definitions load
    return server


def test_good_candidate_is_released_stage_by_stage_then_rolled_back_by_hand(
    release: Release, scorer_factory, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from fraud_core import release_ops
    from fraud_core.cli import main
    from fraud_core.store.release_queries import shadow_count

    server = start_scorer(release, scorer_factory, db_url, monkeypatch)
    registry, store = release.registry, release.platform.store
    release_ops.start_shadow(registry, "2", actor="test", reason="gate passed")
    wait_until(lambda: server.model()["stage"] == "shadow", "the scorer to shadow version 2")
    since = release_ops.stage_started(registry, "2")
    assert all(r["model_version"] == "1" for r in traffic(server))
    wait_until(lambda: shadow_count(store, "2", since) >= CUSTOMERS, "shadow rows")
    request, result = release.step("shadow_ready_sensor")
    assert request.job_name == "release_start" and result.success
    assert release.platform.metadata("shadow_evaluation")["agreement_rate"] > 0.9

    seen = []
    for percent in (10, 25, 50, 100):
        wait_until(lambda p=percent: server.model()["stage"] == f"canary {p}%", f"{percent}%")
        assert not release.tick("canary_health_sensor").run_requests  # the stage's baseline
        responses = traffic(server)
        canary = [r for r in responses if r["variant"] == "canary"]
        assert all(r["model_version"] == "2" for r in canary)
        assert len(canary) / CUSTOMERS == pytest.approx(percent / 100, abs=0.05)
        wait_until(lambda n=len(canary): stored(release, "2", "canary") >= sum(seen) + n, "log")
        seen.append(len(canary))
        time.sleep(1)  # the stage's minimum duration
        request, result = release.step("canary_health_sensor")
        expected = "promotion" if percent == 100 else "canary_stage"
        assert request.job_name == expected and result.success, request.tags
    # the promotion sets the share to 0, moves `champion`, then clears `canary`: a poll may
    # fall between any two of these writes, so wait for the whole final state
    keys, final = ("champion", "canary", "canary_percent", "stage"), ("2", None, 0, "stable")
    wait_until(
        lambda: tuple(server.model()[k] for k in keys) == final,
        "the scorer to serve version 2 alone",
    )
    promote = store.audit_entries(action="promote")[0]
    figures = [s["figures"] for s in promote["details"]["stages"]]
    assert [f.get("percent") for f in figures] == [None, 10, 25, 50, 100]
    assert [f["canary_n"] for f in figures[1:]] == seen
    assert [f["canary_requests"] for f in figures[1:]] == seen  # the stage's own, from /metrics
    assert all(f["error_rate"] == 0 and f["p99_latency_seconds"] <= 0.05 for f in figures[1:])
    print(f"canary predictions per stage {seen}; last stage figures {figures[-1]}")

    where = ["--db-url", db_url, "--tracking-uri", registry.tracking_uri]
    manual = CliRunner().invoke(main, ["rollback", "--restore-previous", *where])
    assert manual.exit_code == 0 and "restored version 1 as champion" in manual.output
    took = wait_until(lambda: server.model()["champion"] == "1", "version 1 back")
    assert all(r["model_version"] == "1" for r in traffic(server))
    assert registry.is_rejected("2")
    print(f"manual rollback: champion 1 served again {took:.2f} s after the command")


def test_bad_candidate_is_rolled_back_at_the_first_stage(
    release: Release, scorer_factory, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fraud_core import release_ops

    server = start_scorer(release, scorer_factory, db_url, monkeypatch)
    registry = release.registry
    release_ops.set_stage(registry, "3", 10, actor="test", reason="bad candidate on purpose")
    wait_until(lambda: server.model()["stage"] == "canary 10%", "the canary at 10%")
    assert not release.tick("canary_health_sensor").run_requests  # the stage's baseline
    responses = traffic(server, small=True)
    inside = {f"cust-{i}" for i in range(CUSTOMERS) if routes_to_canary(f"cust-{i}", 10, SALT)}
    saw_3 = {f"cust-{i}" for i, r in enumerate(responses) if r["model_version"] == "3"}
    assert saw_3 == inside
    by_version = {v: [r["decision"] for r in responses if r["model_version"] == v] for v in "13"}
    blocked = {v: decisions.count("block") / len(decisions) for v, decisions in by_version.items()}
    assert blocked["3"] > blocked["1"] + 0.3, blocked
    wait_until(lambda: stored(release, "3", "canary") == len(saw_3), "the prediction log")

    request, result = release.step("canary_health_sensor")
    failures = [e.message for e in result.all_events if e.is_failure]
    assert request.job_name == "rollback" and result.success, failures
    finished = time.monotonic()
    took = wait_until(lambda: server.model()["canary"] is None, "the canary to be dropped")
    assert took < 0.5 + 1.0  # one poll interval (0.5 s) and a model-free swap
    assert all(r["model_version"] == "1" for r in traffic(server))
    assert registry.is_rejected("3") and registry.aliases() == {"champion": "1"}
    assert stored(release, "3", "canary") == len(saw_3)  # nobody else ever got version 3
    entry = release.platform.store.audit_entries(action="release.rollback")[0]
    assert "evidence strong enough to roll back" in entry["reason"]
    assert entry["details"]["figures"]["canary_n"]
    assert entry["details"]["figures"]["canary_requests"] == len(saw_3)
    print(f"bad canary: declines {blocked}, dropped {took:.2f} s after the rollback run "
          f"({time.monotonic() - finished:.2f} s)")  # fmt: skip
